import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { tinyDomainXml } from '@metering/infra-local/dist/test/tiny-domain';
import { localInfra, uniqueName } from '@metering/testing';
import type * as LibvirtModule from '@unraid/libvirt' with { 'resolution-mode': 'import' };
import { LibvirtDiscovery } from '../src/discovery';
import { type DomainReading, type HostObservation } from '../src/sampling';

// The polls between two samples (`observe({ full: false })`) against a real KVM domain on
// qemu:///system: they list running ids and read each domain's info only, yet catch a domain
// that started since the last full poll (read in full: uuid, name, tenant, its QEMU process),
// keep its CPU time fresh, and miss it at once when it ends.
type Hypervisor = InstanceType<(typeof LibvirtModule)['Hypervisor']>;

const name = uniqueName('vmc_watch');
const uuid = randomUUID();
const tenant = uniqueName('tenant');
let hypervisor: Hypervisor | undefined;
let discovery: LibvirtDiscovery;

before(async () => {
  const { Hypervisor: HypervisorClass } = await import('@unraid/libvirt');
  hypervisor = new HypervisorClass({ uri: localInfra.libvirtUri });
  await hypervisor.connectOpen();
  discovery = new LibvirtDiscovery({
    uris: [localInfra.libvirtUri],
    hostName: 'watch-host',
    metadataRefreshMs: 60_000,
    qemuRunDir: '/run/libvirt/qemu',
    procDir: '/proc',
    callTimeoutMs: 10_000,
    concurrency: 4,
  });
});

after(async () => {
  try {
    const domain = await hypervisor?.domainLookupByUUIDString(uuid);
    if (domain !== undefined) await hypervisor?.domainDestroy(domain);
  } catch {
    // already gone
  }
  await discovery?.close();
  await hypervisor?.connectClose();
});

function mine(observations: HostObservation[]): DomainReading | undefined {
  const [observation] = observations;
  assert.ok(observation?.ok, observation?.ok === false ? observation.error : 'no observation');
  return observation.domains.find((d) => d.uuid === uuid);
}

test('watch polls catch a start and an end between full polls, with fresh CPU time', async () => {
  const [first] = await discovery.observe({ full: true });
  assert.ok(first?.ok);
  assert.equal(typeof first.listed, 'number', 'a full poll lists every domain');
  assert.equal(mine([first]), undefined);

  await hypervisor!.domainCreateXML(tinyDomainXml({ name, uuid, tenant }));
  // Started after the full poll: a watch poll reads it in full. The QEMU pid file may come a
  // moment after the domain is listed, so allow a few polls for the process facts.
  let started: DomainReading | undefined;
  for (let i = 0; i < 20 && started?.process == null; i += 1) {
    const observations = await discovery.observe({ full: false });
    assert.equal(observations[0]?.ok && observations[0].listed, undefined, 'watch polls list ids');
    started = mine(observations);
    if (started?.process == null) await sleep(250);
  }
  assert.ok(started, 'the new domain is read by a watch poll');
  assert.equal(started.name, name);
  assert.equal(started.tenantId, tenant);
  assert.ok(started.process, 'its QEMU process is identified');
  assert.ok(started.domainId > 0);

  // Known now: the next watch polls answer from what they know, with CPU read afresh each time.
  await sleep(1_500);
  const later = mine(await discovery.observe({ full: false }));
  assert.ok(later);
  assert.equal(later.name, name);
  assert.equal(later.domainId, started.domainId);
  assert.deepEqual(later.process?.startedAt, started.process.startedAt);
  assert.ok(later.cpuTimeNs > started.cpuTimeNs, 'CPU time is read on every watch poll');
  assert.ok(later.observedAt.getTime() > started.observedAt.getTime());

  // A full poll reads the same domain the same way.
  const full = mine(await discovery.observe({ full: true }));
  assert.equal(full?.domainId, started.domainId);
  assert.ok(full.cpuTimeNs >= later.cpuTimeNs);

  // Ended: the next watch poll no longer has it.
  await hypervisor!.domainDestroy(await hypervisor!.domainLookupByUUIDString(uuid));
  assert.equal(mine(await discovery.observe({ full: false })), undefined);
});

test('WATCH_READS=young: watch polls read a domain only while young, then answer its last reading', async () => {
  const youngName = uniqueName('vmc_young');
  const youngUuid = randomUUID();
  const young = new LibvirtDiscovery({
    uris: [localInfra.libvirtUri],
    hostName: 'watch-host',
    metadataRefreshMs: 60_000,
    qemuRunDir: '/run/libvirt/qemu',
    procDir: '/proc',
    callTimeoutMs: 10_000,
    concurrency: 4,
    watchReads: 'young',
    youngWindowMs: 1_500,
  });
  const find = (observations: HostObservation[]): DomainReading | undefined => {
    const [observation] = observations;
    assert.ok(observation?.ok, observation?.ok === false ? observation.error : 'no observation');
    return observation.domains.find((d) => d.uuid === youngUuid);
  };
  try {
    await young.observe({ full: true });
    await hypervisor!.domainCreateXML(tinyDomainXml({ name: youngName, uuid: youngUuid, tenant }));
    // New since the full poll: read in full by a watch poll, and again while young.
    let first: DomainReading | undefined;
    for (let i = 0; i < 20 && first?.process == null; i += 1) {
      first = find(await young.observe({ full: false }));
      if (first?.process == null) await sleep(250);
    }
    assert.ok(first?.process, 'the new domain is read in full, its QEMU process identified');
    await sleep(300);
    const whileYoung = find(await young.observe({ full: false }));
    assert.ok(whileYoung);
    assert.ok(whileYoung.observedAt > first.observedAt, 'read again while young');

    // No longer young: a watch poll answers its last reading, without reading it.
    await sleep(1_600);
    const settled = find(await young.observe({ full: false }));
    const again = find(await young.observe({ full: false }));
    assert.ok(settled && again);
    assert.equal(again, settled, 'the same reading: the domain was not read');
    assert.equal(again.tenantId, tenant);
    // A full poll reads it afresh; then it ends and the next watch poll misses it at once.
    const full = find(await young.observe({ full: true }));
    assert.ok(full && full.observedAt > again.observedAt && full.cpuTimeNs >= again.cpuTimeNs);
    await hypervisor!.domainDestroy(await hypervisor!.domainLookupByUUIDString(youngUuid));
    assert.equal(find(await young.observe({ full: false })), undefined);
  } finally {
    try {
      await hypervisor!.domainDestroy(await hypervisor!.domainLookupByUUIDString(youngUuid));
    } catch {
      // already gone
    }
    await young.close();
  }
});
