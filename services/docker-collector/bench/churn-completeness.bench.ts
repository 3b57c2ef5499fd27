import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type SampleEvent } from '@metering/contracts';
import { createRootLogger, MetricsRegistry } from '@metering/observability';
import { localInfra } from '@metering/testing';
import { SAMPLE_PUBLISHER, type SamplePublisher } from '@metering/spool';
import { CgroupReader, locateCgroupPath, parseMountInfo } from '../src/cgroups';
import { AppModule } from '../src/app.module';
import { DockerCollectorService } from '../src/collector/docker-collector.service';
import { loadConfig } from '../src/config';
import { BenchContainers, BenchTopic, fmt, option, runBench } from './bench-support';

// bench/churn-completeness: containers living 1-5 s, started continuously for a few minutes
// under one parent cgroup (`--cgroup-parent /metering/bench-<run>`), metered by the collector
// running in-process with its production settings, through Kafka. Compares what the samples
// on the topic carry with the kernel's own account — the parent cgroup's cpuacct.usage, which
// keeps the CPU of exited children. Prints figures; asserts nothing.
//
//   --duration 150      seconds of churn        --concurrency 2   busy containers at most
//   --min-life 1 --max-life 5                   --interval-ms 10000 --young-ms 200

const DURATION_S = option('duration', 150);
const CONCURRENCY = option('concurrency', 2);
const MIN_LIFE_S = option('min-life', 1);
const MAX_LIFE_S = option('max-life', 5);
const INTERVAL_MS = option('interval-ms', 10_000);
const YOUNG_MS = option('young-ms', 200);
const SEC = 1e9;

const containers = new BenchContainers();
const spoolDir = mkdtempSync(join(tmpdir(), 'dc-churn-spool-'));
const parent = `/metering/${containers.runId.replace(/_/g, '-')}`;
let topic: BenchTopic | undefined;
let app: INestApplicationContext | undefined;

function lastCpuByInstance(samples: readonly SampleEvent[]): Map<string, number> {
  const last = new Map<string, number>();
  for (const s of samples) {
    const key = `${s.resource.id}|${s.resource.instanceId}`;
    last.set(key, Math.max(last.get(key) ?? 0, Number(s.cpu.usageNs)));
  }
  return last;
}

runBench(
  (DURATION_S + 180) * 1000,
  async () => {
    // The service's own stop: events, cycles, held files, then the publisher (SHUTDOWN_FLUSH_MS).
    await app?.close().catch(() => undefined);
    rmSync(spoolDir, { recursive: true, force: true });
    const removed = await containers.removeAll();
    console.log(`cleanup: removed ${removed} leftover benchmark containers and ${parent}`);
    await topic?.delete();
  },
  async () => {
    topic = await BenchTopic.create('bench_churn', true);
    const config = loadConfig({
      KAFKA_BROKERS: localInfra.kafkaBrokers.join(','),
      DOCKER_SOCKET: localInfra.dockerSocket,
      SAMPLES_TOPIC: topic.topic,
      SPOOL_DIR: spoolDir,
      SAMPLE_INTERVAL_MS: String(INTERVAL_MS),
      YOUNG_READ_INTERVAL_MS: String(YOUNG_MS),
      HOST_NAME: 'bench-node',
      LOG_LEVEL: 'warn',
    });
    const logger = createRootLogger({ serviceName: 'docker-collector', level: 'warn' });
    const registry = new MetricsRegistry({
      serviceName: 'docker-collector',
      collectDefaultMetrics: false,
    });
    // The service's module, as main.ts runs it (without HTTP), started once the clock runs.
    app = await NestFactory.createApplicationContext(
      AppModule.forRoot(config, { logger, metrics: registry, start: false }),
      { logger: false },
    );
    const pub = app.get<SamplePublisher>(SAMPLE_PUBLISHER);
    const cpu0 = process.cpuUsage();
    await app.get(DockerCollectorService).start();

    console.log(
      `churn-completeness: ${DURATION_S} s of containers living ${MIN_LIFE_S}-${MAX_LIFE_S} s ` +
        `burning CPU (\`yes\`), at most ${CONCURRENCY} at a time, under ${parent}; ` +
        `collector interval ${INTERVAL_MS} ms, young reads every ${YOUNG_MS} ms; ${cpus().length} CPUs`,
    );
    const ids: string[] = [];
    const lifetimes: number[] = [];
    const exits: Array<Promise<unknown>> = [];
    let running = 0;
    const started = performance.now();
    while (performance.now() - started < DURATION_S * 1000) {
      if (running >= CONCURRENCY) {
        await sleep(50);
        continue;
      }
      const life = MIN_LIFE_S + Math.random() * (MAX_LIFE_S - MIN_LIFE_S);
      const container = await containers.run({
        name: `${containers.runId}_${ids.length}`,
        // Busy for its whole life, then gone: `yes` is killed and the shell exits.
        cmd: ['sh', '-c', `yes > /dev/null & sleep ${life.toFixed(2)}; kill $!`],
        labels: { 'metering.tenant': 'bench' },
        cgroupParent: parent,
        autoRemove: ids.length % 2 === 0, // half like `docker run --rm`
      });
      ids.push(container.id);
      lifetimes.push(life);
      running += 1;
      exits.push(
        container
          .wait()
          .catch(() => undefined)
          .finally(() => {
            running -= 1;
          }),
      );
      if (ids.length % 20 === 0) {
        console.log(
          `  ${ids.length} containers after ${fmt((performance.now() - started) / 1000, 0)} s`,
        );
      }
    }
    await Promise.all(exits);
    console.log(`${ids.length} containers started and exited; letting the collector settle…`);

    // The kernel's account: the parent holds only this run's containers, all exited now.
    const mounts = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
    const location = locateCgroupPath(mounts, parent);
    if (location === null) throw new Error(`no cgroup location for ${parent}`);
    const trueNs = Number(await new CgroupReader(cpus().length).readCpuUsageNs(location));

    // The residual is evaluated on the previous cycle's parent reading: two cycles and a bit.
    const own = new Set(ids);
    const metered = (): { containers: number; residual: number } => {
      const samples = topic!.samples;
      const mine = samples.filter((s) => own.has(s.resource.id));
      const residual = samples
        .filter((s) => s.resource.residualOf === parent)
        .reduce((max, s) => Math.max(max, Number(s.cpu.usageNs)), 0);
      let total = 0;
      for (const v of lastCpuByInstance(mine).values()) total += v;
      return { containers: total, residual };
    };
    const deadline = performance.now() + 2.5 * INTERVAL_MS + 15_000;
    while (performance.now() < deadline) {
      await sleep(500);
      const m = metered();
      if (m.containers + m.residual >= trueNs && performance.now() > started) break;
    }
    await pub.flush(10_000);
    await sleep(1_000);
    const cpu = process.cpuUsage(cpu0);
    const m = metered();

    const samples = topic.samples.filter((s) => own.has(s.resource.id));
    const withSample = new Set(samples.map((s) => s.resource.id));
    const withFinal = new Set(
      samples.filter((s) => s.lifecycle === 'final').map((s) => s.resource.id),
    );
    const metrics = await registry.metrics();
    const shortLived = (outcome: string): string =>
      /docker_collector_short_lived_containers_total\{outcome="(\w+)"[^}]*\} (\d+)/g.exec(
        metrics.split('\n').find((l) => l.includes(`outcome="${outcome}"`)) ?? '',
      )?.[2] ?? '0';
    const pct = (n: number): string => `${fmt((100 * n) / trueNs, 2)} %`;
    const meanLife = lifetimes.reduce((a, b) => a + b, 0) / Math.max(1, lifetimes.length);

    console.log('');
    console.log(
      `containers started                  ${ids.length} (mean life ${fmt(meanLife, 2)} s)`,
    );
    console.log(`  with at least one sample          ${withSample.size}`);
    console.log(`  with a final sample               ${withFinal.size}`);
    console.log(
      `  short-lived caught / missed       ${shortLived('caught')} / ${shortLived('missed')}`,
    );
    console.log(`true CPU (parent cgroup's counter)  ${fmt(trueNs / SEC, 3)} CPU-s`);
    console.log(
      `metered in container samples        ${fmt(m.containers / SEC, 3)} CPU-s  ${pct(m.containers)}`,
    );
    console.log(
      `metered as the parent's residual    ${fmt(m.residual / SEC, 3)} CPU-s  ${pct(m.residual)}`,
    );
    console.log(
      `metered in all, over true           ${fmt((m.containers + m.residual) / SEC, 3)} CPU-s  ` +
        `${pct(m.containers + m.residual)}   (target ≥ 99 %)`,
    );
    console.log(
      `collector process CPU               ${fmt((cpu.user + cpu.system) / 1e6, 2)} s over ` +
        `${fmt((performance.now() - started) / 1000, 0)} s (incl. Kafka consumer of this benchmark)`,
    );
  },
);
