import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type SampleEvent, decodeSample, encodeSample } from '@metering/contracts';
import { uniqueName } from '@metering/testing';
import type * as LibvirtModule from '@unraid/libvirt' with { 'resolution-mode': 'import' };
import { LibvirtDiscovery } from '../src/discovery';
import { SamplingCycle } from '../src/sampling';

// libvirt's built-in test driver: a fake hypervisor behind the real API. Connections to
// test:///default within one process share its state, so the domains this test defines
// are the ones the collector's own connection lists.
type Hypervisor = InstanceType<(typeof LibvirtModule)['Hypervisor']>;
type Domain = Awaited<ReturnType<Hypervisor['domainDefineXML']>>;

const URI = 'test:///default';
const PREDEFINED_UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f'; // the driver's domain "test"
const NOVA_PROJECT = '5f5e7d3b9b3a4c2d8e1f0a9b8c7d6e5f';

interface TestDomain {
  name: string;
  uuid: string;
  /** Metadata inside <metadata>. */
  metadata: string;
  vcpus: number;
  memoryMiB: number;
}

function domainXml(d: TestDomain): string {
  // No network interface, no disk: nothing a real hypervisor would need either.
  return `<domain type='test'>
  <name>${d.name}</name>
  <uuid>${d.uuid}</uuid>
  <metadata>${d.metadata}</metadata>
  <memory unit='MiB'>${d.memoryMiB * 2}</memory>
  <currentMemory unit='MiB'>${d.memoryMiB}</currentMemory>
  <vcpu>${d.vcpus}</vcpu>
  <os><type>hvm</type></os>
</domain>`;
}

const prefix = uniqueName('vmc_test');
const domains: TestDomain[] = [
  {
    name: `${prefix}_a`,
    uuid: randomUUID(),
    metadata: '<metering:tenant xmlns:metering="urn:metering:1">acme</metering:tenant>',
    vcpus: 2,
    memoryMiB: 512,
  },
  {
    name: `${prefix}_b`,
    uuid: randomUUID(),
    metadata: `<nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1"><nova:owner><nova:user uuid="u">admin</nova:user><nova:project uuid="${NOVA_PROJECT}">demo</nova:project></nova:owner></nova:instance>`,
    vcpus: 4,
    memoryMiB: 1024,
  },
  { name: `${prefix}_c`, uuid: randomUUID(), metadata: '', vcpus: 1, memoryMiB: 256 },
  {
    name: `${prefix}_d`,
    uuid: randomUUID(),
    metadata: '<m:tenant xmlns:m="urn:metering:1">globex</m:tenant>',
    vcpus: 1,
    memoryMiB: 128,
  },
];
/** Defined but never started: listed, never sampled. */
const idle: TestDomain = {
  name: `${prefix}_idle`,
  uuid: randomUUID(),
  metadata: '<metering:tenant xmlns:metering="urn:metering:1">acme</metering:tenant>',
  vcpus: 1,
  memoryMiB: 64,
};

let hypervisor: Hypervisor;
const handles = new Map<string, Domain>();
let discovery: LibvirtDiscovery;
const cycle = new SamplingCycle({
  defaultTenant: 'house',
  memoryUsage: 'rss',
  maxProcessWaitPolls: 3,
});

before(async () => {
  const libvirt = await import('@unraid/libvirt');
  hypervisor = new libvirt.Hypervisor({ uri: URI });
  await hypervisor.connectOpen();
  for (const d of [...domains, idle]) {
    handles.set(d.uuid, await hypervisor.domainDefineXML(domainXml(d)));
  }
  for (const d of domains) await hypervisor.domainCreate(handles.get(d.uuid)!);
  discovery = new LibvirtDiscovery({
    uris: [URI],
    hostName: 'test-host',
    metadataRefreshMs: 60_000,
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

async function poll(emitRunning: boolean): Promise<SampleEvent[]> {
  const observations = await discovery.observe();
  assert.deepEqual(discovery.errors(), []);
  for (const o of observations) assert.ok(o.ok, o.ok ? '' : o.error);
  return cycle.poll(observations, emitRunning).samples;
}

const byUuid = (samples: readonly SampleEvent[]) =>
  new Map(samples.map((s) => [s.resource.id, s] as const));

let first: Map<string, SampleEvent>;

test('the first poll starts every active domain with its tenant, vCPUs and memory', async () => {
  const samples = await poll(true);
  for (const s of samples) assert.ok(decodeSample(encodeSample(s)).ok);
  first = byUuid(samples);
  assert.ok(samples.every((s) => s.lifecycle === 'start'));
  assert.ok(first.has(PREDEFINED_UUID), 'the driver’s own domain "test" is sampled too');
  assert.equal(first.has(idle.uuid), false, 'an inactive domain is not sampled');
  const expectedTenants = ['acme', NOVA_PROJECT, 'house', 'globex'];
  domains.forEach((d, i) => {
    const s = first.get(d.uuid);
    assert.ok(s, `no sample for ${d.name}`);
    assert.equal(s.resource.name, d.name);
    assert.equal(s.resource.kind, 'vm');
    assert.equal(s.source, 'libvirt');
    assert.equal(s.host, 'test-host');
    assert.equal(s.resource.tenantId, expectedTenants[i]);
    assert.equal(s.cpu.allocationCores, d.vcpus);
    assert.equal(s.memory.allocationBytes, d.memoryMiB * 2 ** 20);
    // No QEMU process behind the test driver: usage is the balloon memory.
    assert.equal(s.memory.usageBytes, d.memoryMiB * 2 ** 20);
    assert.match(s.cpu.usageNs, /^\d+$/);
    // Without a process start time, the instance starts when first seen.
    assert.equal(s.resource.startedAt, s.observedAt);
  });
});

test('later polls give running samples with rising CPU, only when due', async () => {
  assert.deepEqual(await poll(false), []);
  const running = byUuid(await poll(true));
  for (const d of domains) {
    const s = running.get(d.uuid);
    assert.equal(s?.lifecycle, 'running');
    assert.equal(s.resource.instanceId, first.get(d.uuid)?.resource.instanceId);
    assert.ok(BigInt(s.cpu.usageNs) > BigInt(first.get(d.uuid)!.cpu.usageNs));
  }
});

test('a stopped domain gets a final sample; a restarted one a final and a new start', async () => {
  const [a, b] = domains as [TestDomain, TestDomain];
  await hypervisor.domainDestroy(handles.get(a.uuid)!);
  await hypervisor.domainDestroy(handles.get(b.uuid)!);
  await hypervisor.domainCreate(handles.get(b.uuid)!);
  const samples = await poll(false);
  const mine = samples.map((s) => `${s.resource.name}:${s.lifecycle}`);
  assert.deepEqual(mine.sort(), [`${a.name}:final`, `${b.name}:final`, `${b.name}:start`].sort());
  const bSamples = samples.filter((s) => s.resource.id === b.uuid);
  const [bFinal, bStart] = [
    bSamples.find((s) => s.lifecycle === 'final')!,
    bSamples.find((s) => s.lifecycle === 'start')!,
  ];
  assert.equal(bFinal.resource.instanceId, first.get(b.uuid)?.resource.instanceId);
  assert.notEqual(bStart.resource.instanceId, bFinal.resource.instanceId);
  assert.equal(bStart.resource.tenantId, NOVA_PROJECT);
});

test('a transient domain created between polls is started; the tracked set follows', async () => {
  const transient: TestDomain = {
    name: `${prefix}_t`,
    uuid: randomUUID(),
    metadata: '<metering:tenant xmlns:metering="urn:metering:1">initech</metering:tenant>',
    vcpus: 3,
    memoryMiB: 128,
  };
  handles.set(transient.uuid, await hypervisor.domainCreateXML(domainXml(transient)));
  const samples = await poll(true);
  const byId = byUuid(samples.filter((s) => s.lifecycle === 'start'));
  assert.equal(byId.get(transient.uuid)?.resource.tenantId, 'initech');
  assert.deepEqual([...byId.keys()], [transient.uuid]);
  // Running: the predefined domain, b (new instance), c, d — not a, not the idle one.
  const running = samples.filter((s) => s.lifecycle === 'running').map((s) => s.resource.id);
  const [, b, c, d] = domains as [TestDomain, TestDomain, TestDomain, TestDomain];
  assert.deepEqual(running.sort(), [PREDEFINED_UUID, b.uuid, c.uuid, d.uuid].sort());
  await hypervisor.domainDestroy(handles.get(transient.uuid)!);
  const gone = await poll(false);
  assert.deepEqual(
    gone.map((s) => `${s.resource.id}:${s.lifecycle}`),
    [`${transient.uuid}:final`],
  );
});
