import 'reflect-metadata';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo } from 'node:net';
import { type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { tinyDomainXml } from '@metering/infra-local/dist/test/tiny-domain';
import { SampleTopic, localInfra, uniqueName, waitFor } from '@metering/testing';
import type * as LibvirtModule from '@unraid/libvirt' with { 'resolution-mode': 'import' };
import { AppModule } from '../src/app.module';
import { loadConfig } from '../src/config';

// LIFECYCLE_WATCH=run-dir (the default) on the real qemu:///system: with its domains settled the
// collector makes no poll between two 10-s samples, and still publishes a domain's final and a
// new domain's start within about a second, long before the next sample — the run directory's
// changes woke it.
type Hypervisor = InstanceType<(typeof LibvirtModule)['Hypervisor']>;

const tenant = uniqueName('tenant');
const settled = { name: uniqueName('vmc_watch'), uuid: randomUUID() };
const late = { name: uniqueName('vmc_watch_late'), uuid: randomUUID() };

let hypervisor: Hypervisor | undefined;
let topic: SampleTopic;
let spoolDir: string;
let app: INestApplication | undefined;
let baseUrl: string;

async function destroy(uuid: string): Promise<void> {
  await hypervisor!.domainDestroy(await hypervisor!.domainLookupByUUIDString(uuid));
}

/** Polls made so far, by kind (`poll`: between samples; `sample`). */
async function polls(kind: 'poll' | 'sample'): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const re = new RegExp(
    `^vm_collector_cycle_duration_seconds_count\\{[^}]*kind="${kind}"[^}]*\\} (\\d+)$`,
    'm',
  );
  return Number(re.exec(text)?.[1] ?? 0);
}

/** After a domain of the host started or stopped: a sample interval young, and two polls. */
const HOST_QUIET_MS = 13_000;

/**
 * When the host's set of running domains (their ids: a start takes a new one) last changed, read
 * every 200 ms until stopped.
 */
async function watchHostDomains(
  hv: Hypervisor,
): Promise<{ readonly changedAt: number; stop(): void }> {
  const read = async (): Promise<string> =>
    (await hv.connectListDomains()).sort((a, b) => a - b).join(',');
  let ids = await read();
  const state = { changedAt: Date.now(), stopped: false };
  void (async () => {
    while (!state.stopped) {
      await sleep(200);
      const now = await read().catch(() => ids);
      if (now !== ids) state.changedAt = Date.now();
      ids = now;
    }
  })();
  return {
    get changedAt() {
      return state.changedAt;
    },
    stop: () => {
      state.stopped = true;
    },
  };
}

/** Returns just after the next sampling poll: a change now would wait ~10 s for the next. */
async function justAfterASample(): Promise<void> {
  const now = await polls('sample');
  await waitFor(async () => (await polls('sample')) > now, {
    timeoutMs: 15_000,
    intervalMs: 100,
    description: 'a sampling poll',
  });
}

before(async () => {
  const libvirt = await import('@unraid/libvirt');
  const connection = new libvirt.Hypervisor({ uri: localInfra.libvirtUri });
  await connection.connectOpen();
  hypervisor = connection;
  topic = await SampleTopic.create('vmc_watch');
  spoolDir = await mkdtemp(join(tmpdir(), 'vm-collector-watch-'));
  await hypervisor.domainCreateXML(tinyDomainXml({ ...settled, tenant }));
  const config = loadConfig({
    LIBVIRT_URIS: localInfra.libvirtUri,
    KAFKA_BROKERS: localInfra.kafkaBrokers.join(','),
    SAMPLES_TOPIC: topic.topic,
    SPOOL_DIR: spoolDir,
    SAMPLE_INTERVAL_MS: '10000',
    POLL_INTERVAL_MS: '1000',
    HOST_NAME: 'vmc-watch-host',
    PORT: '0',
    LOG_LEVEL: 'warn',
    SHUTDOWN_FLUSH_MS: '5000',
  });
  assert.equal(config.lifecycleWatch, 'run-dir', 'the default');
  app = await NestFactory.create(AppModule.forRoot(config), { logger: false });
  await app.listen(config.http.port, config.http.host);
  baseUrl = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
});

after(async () => {
  // Always: the domains first (a leftover VM costs the machine a quarter core).
  if (hypervisor !== undefined) {
    for (const d of [settled, late]) await destroy(d.uuid).catch(() => undefined);
    await hypervisor.connectClose();
  }
  await app?.close().catch(() => undefined);
  await topic?.close();
  if (spoolDir !== undefined) await rm(spoolDir, { recursive: true, force: true });
});

test('settled domains: no poll between samples; a stop and a start are published within seconds', async () => {
  await waitFor(() => topic.of(settled.uuid).some((s) => s.lifecycle === 'start'), {
    timeoutMs: 20_000,
    description: 'the start sample of the settled domain',
  });
  // Young for a sample interval after it was first seen; then the polls between samples stop.
  // Domains other suites start and stop on the shared libvirtd change the run directory and are
  // young too, and either wakes the collector: only a window with no domain started or stopped
  // on the host since a sample interval and two polls before it is judged (CI saw six windows
  // in a row with other suites' domains coming and going).
  const host = await watchHostDomains(hypervisor!);
  const windows: string[] = [];
  try {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const quietFor = Date.now() - host.changedAt;
      if (quietFor < HOST_QUIET_MS) {
        await sleep(HOST_QUIET_MS - quietFor);
        continue;
      }
      const changedAt = host.changedAt;
      const [between, samples] = [await polls('poll'), await polls('sample')];
      await sleep(6_000);
      const [betweenNow, samplesNow] = [await polls('poll'), await polls('sample')];
      if (host.changedAt !== changedAt) {
        windows.push('(a domain of the host started or stopped)');
        continue;
      }
      windows.push(`${betweenNow - between} polls and ${samplesNow - samples} samples`);
      break;
    }
  } finally {
    host.stop();
  }
  assert.match(
    windows.at(-1) ?? '(the host was never quiet)',
    /^0 polls and [01] samples$/,
    windows.join('; '),
  );

  // A stop just after a sample: the run directory changes, the final follows within a few
  // seconds, where the next sample would have been 10 s away.
  await justAfterASample();
  const stoppedAt = Date.now();
  await destroy(settled.uuid);
  await waitFor(() => topic.of(settled.uuid).some((s) => s.lifecycle === 'final'), {
    timeoutMs: 20_000,
    description: 'the final sample of the settled domain',
  });
  const stopSeenMs = Date.now() - stoppedAt;

  // A start: the same, for the start sample of a domain booted now.
  await justAfterASample();
  const startedAt = Date.now();
  await hypervisor!.domainCreateXML(tinyDomainXml({ ...late, tenant }));
  await waitFor(() => topic.of(late.uuid).some((s) => s.lifecycle === 'start'), {
    timeoutMs: 20_000,
    description: 'the start sample of the domain started later',
  });
  const startSeenMs = Date.now() - startedAt;
  // Through Kafka and the consumer; a poll triggered by the change, not the 10-s sample.
  assert.ok(stopSeenMs < 5_000, `final ${stopSeenMs} ms after the stop`);
  assert.ok(startSeenMs < 5_000, `start ${startSeenMs} ms after the boot`);
  assert.deepEqual(topic.rejected, []);
});
