import 'reflect-metadata';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { tinyDomainXml } from '@metering/infra-local/dist/test/tiny-domain';
import { SecondKafkaBroker, SampleTopic, localInfra, uniqueName, waitFor } from '@metering/testing';
import type * as LibvirtModule from '@unraid/libvirt' with { 'resolution-mode': 'import' };
import { AppModule } from '../src/app.module';
import { loadConfig } from '../src/config';

// The collector keeps sampling a real KVM domain while its Kafka broker — one of this test's
// own, so stopping it disturbs nobody — is down for 30 s; afterwards every sample arrives,
// in order. Bounded: about a minute and a half.
type Hypervisor = InstanceType<(typeof LibvirtModule)['Hypervisor']>;

const OUTAGE_MS = 30_000;
const SAMPLE_INTERVAL_MS = 1_000;
const name = uniqueName('vmc_outage');
const uuid = randomUUID();
const tenant = uniqueName('tenant');

let hypervisor: Hypervisor | undefined;
let broker: SecondKafkaBroker | undefined;
let topic: SampleTopic | undefined;
let spoolDir: string | undefined;
let app: INestApplication | undefined;
let baseUrl: string;

before(async () => {
  broker = await SecondKafkaBroker.create('vm-collector');
  await broker.start();
  topic = await SampleTopic.create('vmc_outage', { brokers: broker.brokers, consume: false });
  spoolDir = await mkdtemp(join(tmpdir(), 'vm-collector-outage-'));
  const libvirt = await import('@unraid/libvirt');
  const connection = new libvirt.Hypervisor({ uri: localInfra.libvirtUri });
  await connection.connectOpen();
  hypervisor = connection;
  await hypervisor.domainCreateXML(tinyDomainXml({ name, uuid, tenant }));

  const config = loadConfig({
    LIBVIRT_URIS: localInfra.libvirtUri,
    KAFKA_BROKERS: broker.brokers.join(','),
    KAFKA_CONNECTION_TIMEOUT_MS: '1000',
    KAFKA_REQUEST_TIMEOUT_MS: '3000',
    SAMPLES_TOPIC: topic.topic,
    SPOOL_DIR: spoolDir,
    SPOOL_BACKOFF_MAX_MS: '1000',
    SPOOL_DEGRADED_AFTER_MS: '5000',
    SAMPLE_INTERVAL_MS: String(SAMPLE_INTERVAL_MS),
    POLL_INTERVAL_MS: '250',
    PORT: '0',
    LOG_LEVEL: 'silent',
    SHUTDOWN_FLUSH_MS: '2000',
  });
  app = await NestFactory.create(AppModule.forRoot(config), { logger: false });
  await app.listen(config.http.port, config.http.host);
  baseUrl = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
});

after(async () => {
  if (hypervisor !== undefined) {
    try {
      await hypervisor.domainDestroy(await hypervisor.domainLookupByUUIDString(uuid));
    } catch {
      // Already destroyed by the test.
    }
    await hypervisor.connectClose();
  }
  await app?.close().catch(() => undefined);
  await topic?.close().catch(() => undefined);
  await broker?.dispose();
  if (spoolDir !== undefined) await rm(spoolDir, { recursive: true, force: true });
});

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const match = new RegExp(`^vm_collector_${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return Number(match?.[1] ?? NaN);
}

/** Every sample the collector handed to its publisher, over all labels (all domains). */
async function publishedTotal(): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('vm_collector_samples_published_total{'))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

test('a 30 s broker outage loses no sample and keeps their order', async () => {
  const b = broker!;
  const t = topic!;
  // Running for a few seconds with the broker up, then the broker goes away.
  await waitFor(async () => (await metric('samples_published_total')) >= 0, {
    description: 'the metrics endpoint',
  });
  await sleep(3_000);
  const stoppedAt = Date.now();
  await b.stop();
  await sleep(OUTAGE_MS);

  // Sampling went on: samples piled up in the spool, and the collector says so but stays up.
  const depth = await metric('publisher_depth');
  assert.ok(depth >= OUTAGE_MS / SAMPLE_INTERVAL_MS - 5, `spool depth ${depth} after the outage`);
  const health = await fetch(`${baseUrl}/healthz`);
  const report = (await health.json()) as {
    checks: Record<string, { status: string; detail?: { status?: string } }>;
  };
  assert.equal(health.status, 200, JSON.stringify(report));
  assert.equal(report.checks['publisher']?.detail?.status, 'degraded');
  assert.equal((await fetch(`${baseUrl}/livez`)).status, 200, 'and alive');

  await b.start();
  const hyp = hypervisor!;
  await hyp.domainDestroy(await hyp.domainLookupByUUIDString(uuid));
  await t.startConsuming();
  await waitFor(() => t.of(uuid).some((s) => s.lifecycle === 'final'), {
    timeoutMs: 60_000,
    description: 'the final sample, after everything spooled during the outage',
  });
  assert.deepEqual(t.rejected, []);

  // At-least-once: a batch in flight when the broker went away may come twice. Its first
  // copy counts; then the readings are in order, one per sample interval, none missing.
  const seen = new Set<string>();
  const samples = t.of(uuid).filter((s) => !seen.has(s.sampleId) && seen.add(s.sampleId));
  assert.equal(samples[0]?.lifecycle, 'start');
  assert.equal(samples.at(-1)?.lifecycle, 'final');
  assert.ok(samples.slice(1, -1).every((s) => s.lifecycle === 'running'));
  // Nothing lost: every sample the collector published (for every domain on the host) is on
  // the topic. Counted, not timed: under load a sampling cycle may run late, which is no loss.
  // Other domains on the host are still sampled, so the count moves on: the topic must catch
  // up with the counter as read at that moment, never run past it.
  const published = await waitFor(
    async () => {
      const total = await publishedTotal();
      const onTopic = new Set(t.samples.map((x) => x.sampleId)).size;
      if (onTopic !== total) throw new Error(`${onTopic} on the topic, ${total} published`);
      return total;
    },
    { timeoutMs: 60_000, description: 'every published sample on the topic' },
  );
  assert.ok(published >= samples.length, `${published} published`);
  const times = samples.map((s) => Date.parse(s.observedAt));
  for (let i = 1; i < times.length; i++) {
    assert.ok(times[i]! > times[i - 1]!, `out of order at ${i}: ${samples[i]?.observedAt}`);
  }
  const during = samples.filter((s) => {
    const at = Date.parse(s.observedAt);
    return at > stoppedAt && at < stoppedAt + OUTAGE_MS;
  });
  // Sampling went on through the outage (at half the nominal rate at worst, on a loaded machine).
  assert.ok(during.length >= OUTAGE_MS / SAMPLE_INTERVAL_MS / 2, `${during.length} during`);
  const cpu = samples.map((s) => BigInt(s.cpu.usageNs));
  for (let i = 1; i < cpu.length; i++) assert.ok(cpu[i]! >= cpu[i - 1]!);
});
