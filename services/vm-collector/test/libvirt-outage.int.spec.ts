import 'reflect-metadata';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SampleTopic, SocketProxy, localInfra, waitFor } from '@metering/testing';
import { AppModule } from '../src/app.module';
import { loadConfig } from '../src/config';

// The collector reaches the real libvirtd (qemu:///system) through a unix-socket proxy this
// test cuts and restores: libvirt's outage makes the collector not ready (naming libvirt) and
// never not alive, so Kubernetes would not restart it (and drop the samples it holds). ~20 s.
const LIBVIRT_SOCKET = '/run/libvirt/libvirt-sock';
const dir = mkdtempSync(join(tmpdir(), 'vmc-libvirt-outage-'));
const socket = join(dir, 'libvirt-sock');
const proxy = new SocketProxy({ path: LIBVIRT_SOCKET }, socket);
let topic: SampleTopic | undefined;
let app: INestApplication | undefined;
let baseUrl: string;

interface Report {
  status: string;
  checks: Record<string, { status: string; detail?: unknown }>;
}

async function probe(path: string): Promise<{ status: number; report: Report }> {
  const response = await fetch(`${baseUrl}${path}`);
  return { status: response.status, report: (await response.json()) as Report };
}

before(async () => {
  await proxy.start();
  topic = await SampleTopic.create('vmc_libvirt_outage', { consume: false });
  const config = loadConfig({
    // The remote driver over a unix socket: the same qemu:///system, through the proxy.
    LIBVIRT_URIS: `qemu+unix:///system?socket=${socket}`,
    KAFKA_BROKERS: localInfra.kafkaBrokers.join(','),
    SAMPLES_TOPIC: topic.topic,
    SPOOL_DIR: join(dir, 'spool'),
    SAMPLE_INTERVAL_MS: '1000',
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
  await proxy.stop();
  await app?.close().catch(() => undefined);
  await topic?.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

test('libvirtd away: not ready naming libvirt, alive all along, ready again once it is back', async () => {
  await waitFor(async () => (await probe('/readyz')).status === 200, {
    timeoutMs: 15_000,
    description: 'ready with libvirtd reachable',
  });
  assert.equal((await probe('/livez')).status, 200);

  await proxy.stop();
  const down = await waitFor(
    async () => {
      const r = await probe('/readyz');
      return r.status === 503 ? r : undefined;
    },
    { timeoutMs: 15_000, description: '/readyz 503 with libvirtd away' },
  );
  assert.equal(down.report.checks.libvirt?.status, 'down');
  assert.match(JSON.stringify(down.report.checks.libvirt?.detail), /lastError/);
  assert.equal((await probe('/healthz')).status, 503);
  for (let i = 0; i < 5; i++) {
    const live = await probe('/livez');
    assert.equal(live.status, 200);
    assert.deepEqual(Object.keys(live.report.checks), ['publisher-forwarder']);
    await sleep(500);
  }

  await proxy.start();
  await waitFor(async () => (await probe('/readyz')).status === 200, {
    timeoutMs: 30_000,
    description: '/readyz 200 once libvirtd is back (after the reconnect backoff)',
  });
  assert.equal((await probe('/livez')).status, 200);
});
