import 'reflect-metadata';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SampleTopic, SocketProxy, localInfra, waitFor } from '@metering/testing';
import { AppModule } from '../src/app.module';
import { loadConfig } from '../src/config';

// The collector talks to the real Docker engine through a unix-socket proxy this test cuts and
// restores: the engine's outage makes the collector not ready (naming docker) and never not
// alive, so Kubernetes would not restart it (and drop the samples it holds). About 15 s.
const dir = mkdtempSync(join(tmpdir(), 'dc-engine-outage-'));
const proxy = new SocketProxy({ path: localInfra.dockerSocket }, join(dir, 'docker.sock'));
let topic: SampleTopic | undefined;
let app: INestApplication | undefined;
let baseUrl: string;

interface Report {
  status: string;
  checks: Record<string, { status: string; detail?: { error?: string } }>;
}

async function probe(path: string): Promise<{ status: number; report: Report }> {
  const response = await fetch(`${baseUrl}${path}`);
  return { status: response.status, report: (await response.json()) as Report };
}

before(async () => {
  await proxy.start();
  topic = await SampleTopic.create('dc_engine_outage', { consume: false });
  const config = loadConfig({
    KAFKA_BROKERS: localInfra.kafkaBrokers.join(','),
    DOCKER_SOCKET: join(dir, 'docker.sock'),
    SAMPLES_TOPIC: topic.topic,
    SPOOL_DIR: join(dir, 'spool'),
    SAMPLE_INTERVAL_MS: '1000',
    PORT: '0',
    LOG_LEVEL: 'silent',
    SHUTDOWN_FLUSH_MS: '2000',
  });
  app = await NestFactory.create(AppModule.forRoot(config), { logger: false });
  await app.listen(0, '127.0.0.1');
  baseUrl = await app.getUrl();
});

after(async () => {
  await proxy.stop();
  await app?.close().catch(() => undefined);
  await topic?.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

test('Docker engine away: not ready naming docker, alive all along, ready again once it is back', async () => {
  await waitFor(async () => (await probe('/readyz')).status === 200, {
    timeoutMs: 15_000,
    description: 'ready with the engine reachable',
  });
  assert.equal((await probe('/livez')).status, 200);

  await proxy.stop();
  const down = await waitFor(
    async () => {
      const r = await probe('/readyz');
      return r.status === 503 ? r : undefined;
    },
    { timeoutMs: 15_000, description: '/readyz 503 with the engine away' },
  );
  assert.equal(down.report.checks.docker?.status, 'down');
  assert.match(String(down.report.checks.docker?.detail?.error), /\S/);
  assert.equal((await probe('/healthz')).status, 503);
  // A few cycles without the engine: sampling goes on from the cgroups, and the process is alive.
  for (let i = 0; i < 5; i++) {
    const live = await probe('/livez');
    assert.equal(live.status, 200);
    assert.deepEqual(Object.keys(live.report.checks), ['spool-forwarder']);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  await proxy.start();
  await waitFor(async () => (await probe('/readyz')).status === 200, {
    timeoutMs: 15_000,
    description: '/readyz 200 once the engine is back',
  });
  assert.equal((await probe('/livez')).status, 200);
});
