import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { uniqueName } from '@metering/testing';
import type * as LibvirtModule from '@unraid/libvirt' with { 'resolution-mode': 'import' };
import { LibvirtDiscovery } from '../src/discovery';
import { type DomainReading, type HostObservation } from '../src/sampling';

// Full polls (every sample) between two full listings (`relistMs`) list the running ids only
// and read the domains they know through the handles they already hold: every known domain is
// read afresh (state, CPU), a domain started since is read in full, one that ended is gone, and
// the count of every domain, active or not (`listed`), comes back with the next full listing.
// On libvirt's test driver, whose connections within one process share its state.
type Hypervisor = InstanceType<(typeof LibvirtModule)['Hypervisor']>;
type Domain = Awaited<ReturnType<Hypervisor['domainDefineXML']>>;

const URI = 'test:///default';
const prefix = uniqueName('vmc_relist');
const names = [`${prefix}_a`, `${prefix}_b`, `${prefix}_late`, `${prefix}_idle`];
const uuids = new Map(names.map((n) => [n, randomUUID()]));
const handles = new Map<string, Domain>();
let hypervisor: Hypervisor;
let discovery: LibvirtDiscovery;

function domainXml(name: string): string {
  return `<domain type='test'>
  <name>${name}</name>
  <uuid>${uuids.get(name)}</uuid>
  <metadata><metering:tenant xmlns:metering="urn:metering:1">acme</metering:tenant></metadata>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
</domain>`;
}

before(async () => {
  const libvirt = await import('@unraid/libvirt');
  hypervisor = new libvirt.Hypervisor({ uri: URI });
  await hypervisor.connectOpen();
  for (const name of names) handles.set(name, await hypervisor.domainDefineXML(domainXml(name)));
  for (const name of names.slice(0, 2)) await hypervisor.domainCreate(handles.get(name)!);
  discovery = new LibvirtDiscovery({
    uris: [URI],
    hostName: 'relist-host',
    metadataRefreshMs: 60_000,
    relistMs: 2_000,
    qemuRunDir: '/nonexistent',
    procDir: '/proc',
    callTimeoutMs: 5_000,
    concurrency: 4,
  });
});

after(async () => {
  await discovery?.close();
  if (hypervisor === undefined) return;
  for (const domain of handles.values()) {
    await hypervisor.domainDestroy(domain).catch(() => undefined);
    await hypervisor.domainUndefine(domain).catch(() => undefined);
  }
  await hypervisor.connectClose();
});

async function fullPoll(): Promise<{
  listed: number | undefined;
  mine: Map<string, DomainReading>;
}> {
  const [observation]: HostObservation[] = await discovery.observe({ full: true });
  assert.deepEqual(discovery.errors(), []);
  assert.ok(observation?.ok, observation?.ok === false ? observation.error : 'no observation');
  const mine = new Map(
    observation.domains.filter((d) => names.includes(d.name)).map((d) => [d.name, d] as const),
  );
  return { listed: observation.listed, mine };
}

test('full polls between two listings read every known domain afresh by its handle', async () => {
  const [a, b, late] = names as [string, string, string, string];
  const first = await fullPoll();
  assert.equal(typeof first.listed, 'number', 'the first poll of a connection lists every domain');
  const listedAtFirst = first.listed!;
  assert.deepEqual([...first.mine.keys()].sort(), [a, b]);

  await sleep(20);
  const second = await fullPoll();
  assert.equal(second.listed, undefined, 'within relistMs a full poll lists running ids only');
  assert.deepEqual([...second.mine.keys()].sort(), [a, b]);
  for (const name of [a, b]) {
    const before = first.mine.get(name)!;
    const now = second.mine.get(name)!;
    assert.ok(now.observedAt > before.observedAt, `${name} read again, not answered from memory`);
    assert.ok(now.cpuTimeNs > before.cpuTimeNs, `${name}'s CPU time read afresh`);
    assert.equal(now.domainId, before.domainId);
    assert.equal(now.uuid, uuids.get(name));
    assert.equal(now.tenantId, 'acme');
  }

  // One started, one ended: found and read in full, and gone, without a listing of all.
  await hypervisor.domainCreate(handles.get(late)!);
  await hypervisor.domainDestroy(handles.get(b)!);
  const third = await fullPoll();
  assert.equal(third.listed, undefined);
  assert.deepEqual([...third.mine.keys()].sort(), [a, late].sort());
  const started = third.mine.get(late)!;
  assert.equal(started.uuid, uuids.get(late));
  assert.equal(started.tenantId, 'acme');
  assert.equal(started.memoryBytes, 256 * 1024 * 1024);

  // relistMs later a full poll lists every domain again: the count follows the changes (one
  // domain started from defined, one stopped back to defined: the same count) and it still reads
  // every active domain.
  await sleep(2_100);
  const fourth = await fullPoll();
  assert.equal(fourth.listed, listedAtFirst, 'every domain, active or not, listed again');
  assert.deepEqual([...fourth.mine.keys()].sort(), [a, late].sort());
  assert.ok(fourth.mine.get(late)!.observedAt > started.observedAt);
});
