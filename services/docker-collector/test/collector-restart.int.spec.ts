import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type SampleEvent } from '@metering/contracts';
import { SampleTopic, localInfra, uniqueName, waitFor } from '@metering/testing';
import { CgroupReader, locateCgroupPath, parseMountInfo } from '../src/cgroups';

import { TestContainers } from './test-containers';

// The real collector process is killed with SIGKILL while a tenant's container burns CPU;
// while it is down that container is stopped and another one comes and goes. The restarted
// process continues the tenant's residual from what the first one left beside its spool, so the
// samples carry everything the kernel counted under the tenant's parent cgroup, once.
// About 30 s.
const SEC = 1e9;
const tenant = uniqueName('restart');
const parent = `/metering/${tenant}`;
const containers = new TestContainers();
const spoolDir = mkdtempSync(join(tmpdir(), 'dc-restart-spool-'));
const main = join(__dirname, '..', 'src', 'main.js');
let topic: SampleTopic;
const processes = new Set<ChildProcess>();

before(async () => {
  topic = await SampleTopic.create('dc_restart');
});

after(async () => {
  for (const p of processes) p.kill('SIGKILL');
  await containers.removeAll();
  await topic?.close();
  rmSync(spoolDir, { recursive: true, force: true });
});

function startCollector(): ChildProcess {
  const child = spawn(process.execPath, [main], {
    env: {
      PATH: process.env['PATH'] ?? '',
      KAFKA_BROKERS: localInfra.kafkaBrokers.join(','),
      DOCKER_SOCKET: localInfra.dockerSocket,
      SAMPLES_TOPIC: topic.topic,
      SPOOL_DIR: spoolDir,
      SAMPLE_INTERVAL_MS: '1000',
      HOST_NAME: 'restart-node',
      HTTP_HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  processes.add(child);
  child.once('exit', () => processes.delete(child));
  return child;
}

const cpuOf = (s: SampleEvent): number => Number(s.cpu.usageNs);
const residualSamples = (): SampleEvent[] =>
  topic.samples.filter((s) => s.resource.residualOf === parent);

/** Σ over resource instances of their last CPU counter: what rating bills. */
function metered(ids: readonly string[]): number {
  const last = new Map<string, number>();
  for (const s of topic.samples) {
    if (!ids.includes(s.resource.id) && s.resource.residualOf !== parent) continue;
    const key = `${s.resource.id}|${s.resource.instanceId}`;
    last.set(key, Math.max(last.get(key) ?? 0, cpuOf(s)));
  }
  return [...last.values()].reduce((a, b) => a + b, 0);
}

test('SIGKILL, containers exit while the collector is down, restart: all of the parent’s CPU is metered once', async (t) => {
  const first = startCollector();
  // An idle container first: the tenant's residual starts from it, so the burner is adopted
  // with nothing before the baseline to guess (its whole counter is after it).
  const anchor = await containers.run({
    prefix: 'dc_restart_idle',
    cmd: ['sleep', '3600'],
    labels: { 'metering.tenant': tenant },
    cgroupParent: parent,
  });
  await waitFor(() => residualSamples().length > 0 || undefined, {
    timeoutMs: 30_000,
    intervalMs: 100,
    description: 'the residual of the tenant’s parent cgroup',
  });
  const burner = await containers.run({
    prefix: 'dc_restart_burn',
    cmd: ['sh', '-c', 'yes > /dev/null'],
    labels: { 'metering.tenant': tenant },
    nanoCpus: 500_000_000,
    cgroupParent: parent,
  });
  await waitFor(() => topic.of(burner.id).length >= 3 || undefined, {
    timeoutMs: 30_000,
    intervalMs: 100,
    description: 'running samples of the burner',
  });
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));
  const beforeDown = metered([anchor.id, burner.id]);

  // Down: the burner goes on for ~3 s and is stopped; a container comes and goes unseen.
  await sleep(3_000);
  const flash = await containers.run({
    prefix: 'dc_restart_flash',
    cmd: ['sh', '-c', 'yes > /dev/null & sleep 1; kill $!'],
    labels: { 'metering.tenant': tenant },
    cgroupParent: parent,
  });
  await flash.wait();
  await burner.kill();
  await burner.wait();
  await anchor.kill();
  await anchor.wait();

  const mounts = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  const location = locateCgroupPath(mounts, parent);
  assert.ok(location !== null);
  const kernelNs = Number(await new CgroupReader(cpus().length).readCpuUsageNs(location));

  startCollector();
  const total = await waitFor(
    () => {
      const m = metered([anchor.id, burner.id, flash.id]);
      return m >= 0.9999 * kernelNs ? m : undefined;
    },
    {
      timeoutMs: 30_000,
      intervalMs: 200,
      description: `the restarted collector to meter the parent's ${kernelNs / SEC} CPU-s`,
    },
  );
  t.diagnostic(
    `kernel ${kernelNs / SEC} CPU-s under the parent; metered before the kill ${beforeDown / SEC}, ` +
      `after the restart ${total / SEC}`,
  );
  assert.ok(total <= kernelNs, 'never more than the kernel counted');
  assert.ok(kernelNs - beforeDown > 1.5 * SEC, 'the downtime held CPU to recover');
  const instances = new Set(residualSamples().map((s) => s.resource.instanceId));
  assert.equal(instances.size, 1, 'the restarted collector continues the same residual counter');
  assert.equal(topic.of(flash.id).length, 0, 'the flash container was never seen');
  // Both containers it followed ended while it was down: each gets one final, inferred from its
  // last sample (README, "Across restarts"), with its counter as it was: nothing counted twice.
  for (const c of [anchor, burner]) {
    const finals = await waitFor(
      () => {
        const f = topic.of(c.id).filter((x) => x.lifecycle === 'final');
        return f.length > 0 ? f : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, description: `the inferred final of ${c.id}` },
    );
    assert.equal(finals.length, 1);
    const final = finals[0]!;
    const earlier = topic.of(c.id).filter((x) => x !== final);
    const last = earlier.at(-1)!;
    assert.equal(final.inferred?.reason, 'collector-restart');
    assert.equal(final.inferred.lastSeenAt, last.observedAt);
    assert.equal(final.cpu.usageNs, last.cpu.usageNs);
    assert.ok(Date.parse(final.inferred.detectedAt) > Date.parse(last.observedAt));
  }
});
