import 'reflect-metadata';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type SampleEvent } from '@metering/contracts';
import { createRootLogger } from '@metering/observability';
import { SampleTopic, localInfra, uniqueName, waitFor } from '@metering/testing';
import { AppModule } from '../src/app.module';
import { CgroupReader, locateCgroupPath, parseMountInfo } from '../src/cgroups';
import { loadConfig } from '../src/config';

import { TestContainers } from './test-containers';

// The real service (Nest app, real engine, real cgroups, real broker) with a 1 s interval,
// publishing to a topic of its own. It sees every container on the host; the assertions
// look only at the containers this file starts.
const SEC = 1_000_000_000;
const tenant = uniqueName('acme');
const defaultTenant = uniqueName('dflt');
const containers = new TestContainers();
let topic: SampleTopic;
let app: INestApplication;
let baseUrl: string;
const spoolDir = mkdtempSync(join(tmpdir(), 'dc-int-spool-'));

before(async () => {
  topic = await SampleTopic.create('dc_int');
  const config = loadConfig({
    KAFKA_BROKERS: localInfra.kafkaBrokers.join(','),
    DOCKER_SOCKET: localInfra.dockerSocket,
    SAMPLES_TOPIC: topic.topic,
    SPOOL_DIR: spoolDir,
    SAMPLE_INTERVAL_MS: '1000',
    DEFAULT_TENANT: defaultTenant,
    HOST_NAME: 'it-node',
    PORT: '0',
    LOG_LEVEL: 'warn',
  });
  const logger = createRootLogger({ serviceName: 'docker-collector', level: 'warn' });
  app = await NestFactory.create(AppModule.forRoot(config, { logger }), { logger: false });
  await app.listen(0, '127.0.0.1');
  baseUrl = await app.getUrl();
});

after(async () => {
  await containers.removeAll();
  await app?.close();
  await topic?.close();
  rmSync(spoolDir, { recursive: true, force: true });
});

const cpuOf = (s: SampleEvent): number => Number(s.cpu.usageNs);

/** Samples of a container once `probe` holds for them. */
function samplesOf(
  id: string,
  probe: (samples: SampleEvent[]) => boolean,
  description: string,
  timeoutMs = 30_000,
): Promise<SampleEvent[]> {
  return waitFor(
    () => {
      const samples = topic.of(id);
      return probe(samples) ? samples : undefined;
    },
    { timeoutMs, intervalMs: 100, description },
  );
}

describe('docker-collector against the real engine and broker', () => {
  test('a labelled CPU burner: start → running (rising) → final, tenant and limits', async () => {
    const burner = await containers.run({
      prefix: 'dc_burn',
      cmd: ['sh', '-c', 'yes > /dev/null'],
      labels: { 'metering.tenant': tenant },
      nanoCpus: 1e9, // --cpus 1
      memory: 64 * 1024 * 1024,
    });
    const running = await samplesOf(
      burner.id,
      (s) => s.filter((x) => x.lifecycle === 'running').length >= 3,
      'three running samples of the burner',
    );
    await burner.kill();
    const samples = await samplesOf(
      burner.id,
      (s) => s.some((x) => x.lifecycle === 'final'),
      'the final sample of the burner',
    );
    assert.equal(samples[0]?.lifecycle, 'start');
    assert.equal(samples.at(-1)?.lifecycle, 'final');
    assert.ok(samples.slice(1, -1).every((s) => s.lifecycle === 'running'));
    for (const s of samples) {
      assert.equal(s.resource.tenantId, tenant);
      assert.equal(s.resource.kind, 'container');
      assert.equal(s.source, 'docker');
      assert.equal(s.host, 'it-node');
      assert.equal(s.cpu.allocationCores, 1);
      assert.equal(s.memory.allocationBytes, 64 * 1024 * 1024);
      assert.equal(s.resource.instanceId, samples[0]?.resource.instanceId);
    }
    const cpu = running.map(cpuOf);
    for (let i = 1; i < cpu.length; i += 1) assert.ok(cpu[i]! > cpu[i - 1]!, 'CPU rises');
    // A full core of `yes` (capped at 1 core): about a CPU-second per wall second.
    const first = running[0]!;
    const last = running.at(-1)!;
    const wall = (Date.parse(last.observedAt) - Date.parse(first.observedAt)) / 1000;
    const rate = (cpuOf(last) - cpuOf(first)) / SEC / wall;
    assert.ok(rate > 0.2 && rate <= 1.05, `CPU rate ${rate.toFixed(2)} cores`);
    assert.equal(new Set(samples.map((s) => s.sampleId)).size, samples.length);
    // Numbered 0, 1, 2… as published (off the real topic, in partition order).
    assert.deepEqual(
      samples.map((s) => s.sequence),
      samples.map((_, i) => i),
    );
    assert.deepEqual(topic.rejected, []);
  });

  test('a restarted container gets a new instance id; the old one a final sample', async () => {
    const sleeper = await containers.run({ prefix: 'dc_restart', cmd: ['sleep', '120'] });
    await samplesOf(sleeper.id, (s) => s.length >= 1, 'the first sample');
    await sleeper.restart({ t: 0 });
    const samples = await samplesOf(
      sleeper.id,
      (s) => new Set(s.map((x) => x.resource.instanceId)).size === 2,
      'samples of a second instance',
    );
    const [firstInstance, secondInstance] = [...new Set(samples.map((s) => s.resource.instanceId))];
    const old = samples.filter((s) => s.resource.instanceId === firstInstance);
    const fresh = samples.filter((s) => s.resource.instanceId === secondInstance);
    assert.equal(old[0]?.lifecycle, 'start');
    assert.equal(old.at(-1)?.lifecycle, 'final');
    assert.equal(fresh[0]?.lifecycle, 'start');
    assert.ok(Date.parse(fresh[0].resource.startedAt) > Date.parse(old[0].resource.startedAt));
    await sleeper.remove({ force: true });
  });

  test('an unlabelled container is metered under the default tenant', async () => {
    const plain = await containers.run({ prefix: 'dc_plain', cmd: ['sleep', '60'] });
    const [first] = await samplesOf(plain.id, (s) => s.length >= 1, 'a sample');
    assert.equal(first?.resource.tenantId, defaultTenant);
    assert.equal(first?.cpu.allocationCores, null);
    assert.equal(first?.memory.allocationBytes, null);
    await plain.remove({ force: true });
  });

  test('a container living ~2 s between cycles: its CPU time is in the samples', async (t) => {
    const parent = `/metering/${tenant}`;
    const flash = await containers.run({
      prefix: 'dc_flash',
      cmd: ['sh', '-c', 'yes > /dev/null & sleep 2; kill $!'],
      labels: { 'metering.tenant': tenant },
      cgroupParent: parent,
    });
    const samples = await samplesOf(
      flash.id,
      (s) => s.some((x) => x.lifecycle === 'final'),
      'the final sample of the short-lived container',
    );
    // The kernel's own account: the parent cgroup holds only this container.
    const mounts = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
    const location = locateCgroupPath(mounts, parent);
    assert.ok(location !== null);
    const trueNs = Number(await new CgroupReader(cpus().length).readCpuUsageNs(location));
    const finalNs = cpuOf(samples.at(-1)!);
    // 2 s of `yes` is about 2 CPU-s on an idle core; on a busy 2-core machine it gets less,
    // so the container's own figure is compared with the kernel's, not with 2 s.
    assert.ok(trueNs > 0.5 * SEC, `the container burnt ${trueNs / SEC} CPU-s`);
    assert.ok(
      finalNs >= 0.85 * trueNs,
      `its final sample carries ${finalNs / SEC} of ${trueNs / SEC} CPU-s`,
    );
    assert.ok(finalNs <= trueNs);
    // The rest (after the last young reading) is the residual of the tenant's parent cgroup.
    const residual = await waitFor(
      () => {
        const r = topic.samples.filter((s) => s.resource.residualOf === parent).at(-1);
        return r !== undefined && finalNs + cpuOf(r) >= 0.999 * trueNs ? r : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100, description: 'the residual to complete the total' },
    );
    t.diagnostic(
      `kernel ${trueNs / SEC} CPU-s; final sample ${finalNs / SEC} (${((100 * finalNs) / trueNs).toFixed(2)} %); ` +
        `with the residual ${(finalNs + cpuOf(residual)) / SEC}`,
    );
    assert.equal(residual.resource.tenantId, tenant);
    assert.ok(finalNs + cpuOf(residual) <= trueNs, 'never more than the kernel counted');
  });

  test('/healthz and /readyz are up, /livez checks no dependency, /metrics has the collector series', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const health = (await (await fetch(`${baseUrl}${path}`)).json()) as {
        status: string;
        checks: Record<string, { status: string }>;
      };
      assert.equal(health.status, 'up', path);
      assert.deepEqual(Object.keys(health.checks).sort(), [
        'docker',
        'sampling',
        'spool',
        'spool-forwarder',
      ]);
    }
    const live = await fetch(`${baseUrl}/livez`);
    const liveness = (await live.json()) as { checks: Record<string, unknown> };
    assert.equal(live.status, 200);
    assert.deepEqual(Object.keys(liveness.checks), ['spool-forwarder']);
    const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
    for (const series of [
      'docker_collector_cycle_duration_seconds_count',
      'docker_collector_containers_seen',
      'docker_collector_samples_published_total{lifecycle="final"',
      'docker_collector_short_lived_containers_total',
      'docker_collector_residual_cpu_seconds_total',
      'docker_collector_spool_depth',
      'docker_collector_clock_steps_total{direction="backward"',
      'docker_collector_clock_offset_seconds',
    ]) {
      assert.ok(metrics.includes(series), `${series} in /metrics`);
    }
  });
});
