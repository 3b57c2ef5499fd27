import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { type SampleEvent, decodeSample } from '@metering/contracts';
import { tinyDomainXml } from '@metering/infra-local/dist/test/tiny-domain';
import { ServicePipeline } from '@metering/pipeline-harness';
import { localInfra, uniqueName, waitFor } from '@metering/testing';
import type * as LibvirtModule from '@unraid/libvirt' with { 'resolution-mode': 'import' };

// A KVM domain that ends while its collector is down (issue 21): the real pipeline (billing-api,
// rating, vm-collector as processes), the tiny no-disk, no-NIC domain of infra/local on
// qemu:///system. The collector is SIGKILLed, the domain destroyed, the collector restarted: it
// finds the domain gone among those it followed (its state file beside the spool) and publishes a
// final marked inferred, with the last reading it had; rating records the unseen tail as a gap of
// its length, bills nothing for it and closes the instance; the usage API and the invoice show it.
// About 40 s.
type Hypervisor = InstanceType<(typeof LibvirtModule)['Hypervisor']>;

const pipeline = new ServicePipeline('vmc_restart');
const uuid = randomUUID();
const name = uniqueName('vmc_restart');
const tenant = uniqueName('restart_acme').replace(/_/g, '-');
const host = 'vmc-restart-host';
const collectorEnv = {
  SAMPLE_INTERVAL_MS: '1000',
  POLL_INTERVAL_MS: '250',
  HOST_NAME: host,
  LOG_LEVEL: 'info',
};
let hypervisor: Hypervisor | undefined;
let consumer: Consumer | undefined;
const samples: SampleEvent[] = [];

before(async () => {
  await pipeline.prepare(1);
  await pipeline.startBillingApi();
  await pipeline.api('POST', '/v1/tenants', {
    body: { id: tenant, name: 'Restart Acme', timeZone: 'UTC', currency: 'EUR' },
  });
  await pipeline.api('POST', '/v1/price-plans', {
    body: {
      id: `${tenant}-mem`,
      currency: 'EUR',
      basis: 'usage',
      memory: { tiers: [{ upTo: null, unitPrice: '0.0050' }] },
    },
  });
  await pipeline.api('PUT', `/v1/tenants/${tenant}/plan`, {
    body: { planId: `${tenant}-mem`, effectiveFrom: '2020-01-01T00:00:00Z' },
  });
  await pipeline.startRating();
  const kafka = new Kafka({
    clientId: 'vmc-restart-test',
    brokers: [...localInfra.kafkaBrokers],
    logLevel: logLevel.NOTHING,
  });
  consumer = kafka.consumer({ groupId: uniqueName('vmc_restart_reader') });
  await consumer.connect();
  await consumer.subscribe({ topic: pipeline.topic, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      const decoded = decodeSample(message.value);
      if (decoded.ok && decoded.value.resource.id === uuid) samples.push(decoded.value);
      return Promise.resolve();
    },
  });
  const libvirt = await import('@unraid/libvirt');
  const connection = new libvirt.Hypervisor({ uri: localInfra.libvirtUri });
  await connection.connectOpen();
  hypervisor = connection;
  await pipeline.startVmCollector(collectorEnv);
  await hypervisor.domainCreateXML(tinyDomainXml({ name, uuid, tenant }));
});

after(async () => {
  // Always: the domain first (a leftover VM costs the machine a quarter core).
  if (hypervisor !== undefined) {
    const domain = await hypervisor.domainLookupByUUIDString(uuid).catch(() => null);
    if (domain !== null) await hypervisor.domainDestroy(domain).catch(() => undefined);
    await hypervisor.connectClose();
  }
  await consumer?.disconnect().catch(() => undefined);
  await pipeline.stop();
});

interface Counters {
  cpu: string | null;
  observed: string | null;
  tail: string | null;
  expected: string | null;
}

async function ledgerCounters(): Promise<Counters> {
  const [row] = await pipeline.sql<Counters>(
    `SELECT sum(cpu_usage_core_seconds)::text AS cpu, sum(samples_observed)::text AS observed,
            sum(inferred_gap_ms)::text AS tail, sum(samples_expected)::text AS expected
     FROM usage_bucket WHERE resource_id = $1`,
    [uuid],
  );
  return row ?? { cpu: null, observed: null, tail: null, expected: null };
}

test('SIGKILL, the domain destroyed while down, restart: an inferred final, the tail a gap, shown on the usage API and the invoice', async (t) => {
  await waitFor(async () => Number((await ledgerCounters()).observed ?? 0) >= 4, {
    timeoutMs: 60_000,
    intervalMs: 250,
    description: 'rating to rate the domain’s start and running samples',
  });
  const stateFile = join(pipeline.tmp, 'spool-vm', 'followed', 'domains.json');
  const pid = pipeline.pid('vm-collector');
  assert.ok(pid !== undefined);
  pipeline.kill('vm-collector', 'SIGKILL');
  await waitFor(() => pipeline.pid('vm-collector') === undefined || isGone(pid), {
    timeoutMs: 10_000,
    description: 'the collector to die',
  });
  const killedAt = Date.now();
  await pipeline.stopService('vm-collector');
  const followed = JSON.parse(readFileSync(stateFile, 'utf8')) as {
    instances: { uuid: string; last: { observedAt: string; cpuTimeNs: string } }[];
  };
  const remembered = followed.instances.find((i) => i.uuid === uuid);
  assert.ok(remembered !== undefined, 'the killed collector left the domain in its state file');

  const domain = await hypervisor!.domainLookupByUUIDString(uuid);
  await hypervisor!.domainDestroy(domain);
  await sleep(4_000);
  const restartedAt = Date.now();
  await pipeline.startVmCollector(collectorEnv);

  const final = await waitFor(() => samples.find((s) => s.lifecycle === 'final'), {
    timeoutMs: 30_000,
    intervalMs: 100,
    description: 'the inferred final sample on the samples topic',
  });
  assert.equal(samples.filter((s) => s.lifecycle === 'final').length, 1);
  const inferred = final.inferred;
  assert.ok(inferred !== undefined, 'the final is marked inferred');
  assert.equal(inferred.reason, 'collector-restart');
  // The last reading the state file held: its counters, its time (not the restart's).
  assert.equal(inferred.lastSeenAt, remembered.last.observedAt);
  assert.ok(Date.parse(inferred.lastSeenAt) <= killedAt);
  assert.ok(Date.parse(inferred.detectedAt) >= restartedAt - 1_000);
  assert.ok(Date.parse(final.observedAt) - Date.parse(inferred.lastSeenAt) <= 1);
  assert.equal(final.intervalMs, 1000);
  const before = samples.filter((s) => s !== final);
  const lastCounter = before.reduce(
    (m, s) => (BigInt(s.cpu.usageNs) > m ? BigInt(s.cpu.usageNs) : m),
    0n,
  );
  assert.ok(BigInt(final.cpu.usageNs) >= lastCounter, 'the final repeats the last reading');
  const tailMs = Date.parse(inferred.detectedAt) - Date.parse(final.observedAt);
  assert.ok(tailMs >= 4_000, `the tail (${tailMs} ms) spans the time the collector was down`);

  // Rating: the instance closed at the final, the tail a gap of exactly its length, no usage
  // invented for it: the CPU billed is the final counter, to the nanosecond.
  const counters = await waitFor(
    async () => {
      const c = await ledgerCounters();
      return Number(c.tail ?? 0) > 0 ? c : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250, description: 'rating to record the unseen tail' },
  );
  const [state] = await pipeline.sql<{ final: boolean; last_observed_at: Date }>(
    'SELECT final, last_observed_at FROM instance_state WHERE resource_id = $1',
    [uuid],
  );
  assert.equal(state?.final, true, 'the instance is closed');
  assert.equal(state.last_observed_at.toISOString(), final.observedAt);
  assert.equal(Number(counters.tail), tailMs);
  assert.equal(nanosOf(counters.cpu ?? '0'), BigInt(final.cpu.usageNs));
  assert.ok(Number(counters.expected) >= Number(counters.observed) + Math.floor(tailMs / 1000));

  // The usage API and the invoice show the tail and count it against completeness.
  const from = new Date(Date.parse(final.resource.startedAt) - 3_600_000);
  from.setUTCMinutes(0, 0, 0);
  const to = new Date(Date.parse(inferred.detectedAt) + 3_600_000);
  const usage = await pipeline.api<{
    items: { resourceId: string; inferredGapMs: string; completeness: string | null }[];
    totals: { inferredGapMs: string; completeness: string | null };
  }>(
    'GET',
    `/v1/tenants/${tenant}/usage?from=${from.toISOString()}&to=${to.toISOString()}&by=resource`,
  );
  const ours = usage.items.filter((i) => i.resourceId === uuid);
  assert.equal(
    ours.reduce((a, i) => a + Number(i.inferredGapMs), 0),
    tailMs,
  );
  assert.equal(usage.totals.inferredGapMs, String(tailMs));
  assert.ok(usage.totals.completeness !== null && Number(usage.totals.completeness) < 1);
  const period = inferred.detectedAt.slice(0, 7);
  const invoice = await pipeline.api<{
    completeness: { inferredGapMs: string; ratio: string | null; samplesExpected: string };
    resources: { resourceId: string; completeness: string | null }[];
  }>('GET', `/v1/tenants/${tenant}/invoices/${period}`);
  if (final.resource.startedAt.slice(0, 7) === period) {
    assert.equal(invoice.completeness.inferredGapMs, String(tailMs));
    assert.ok(invoice.completeness.ratio !== null && Number(invoice.completeness.ratio) < 1);
    const resource = invoice.resources.find((r) => r.resourceId === uuid);
    assert.equal(resource?.completeness, usage.totals.completeness);
  }
  const pdf = await pipeline.request('GET', `/v1/tenants/${tenant}/invoices/${period}?format=pdf`);
  assert.equal(pdf.status, 200);
  t.diagnostic(
    `tail ${tailMs} ms; samples ${counters.observed} of ${counters.expected} expected; ` +
      `invoice completeness ${invoice.completeness.ratio}`,
  );
});

/** Core-seconds as the ledger prints them ("12.5", "3.000000001000") in whole nanoseconds. */
function nanosOf(coreSeconds: string): bigint {
  const [whole, fraction = ''] = coreSeconds.split('.');
  assert.ok(/^0*$/.test(fraction.slice(9)), `${coreSeconds} is not whole nanoseconds`);
  return BigInt(whole!) * 1_000_000_000n + BigInt(fraction.slice(0, 9).padEnd(9, '0'));
}

function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}
