import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createRootLogger, MetricsRegistry } from '@metering/observability';
import { mapConcurrent } from '@metering/observability/resilience';
import { localInfra } from '@metering/testing';
import { SAMPLE_PUBLISHER, type SamplePublisher } from '@metering/spool';
import {
  type CgroupLocation,
  CgroupReader,
  locateCgroupPath,
  parseMountInfo,
  syncFileReader,
} from '../src/cgroups';
import { AppModule } from '../src/app.module';
import { CollectorMetricsAdapter } from '../src/collector/collector.metrics';
import { ContainerCollector } from '../src/collector/container-collector';
import { type DockerCollectorConfig, loadConfig } from '../src/config';
import { BenchContainers, BenchTopic, fmt, option, runBench } from './bench-support';
import { type SyntheticHost, syntheticCollector, syntheticHost } from './synthetic-host';

// bench/collector-scale: CPU seconds and wall time of one sampling cycle (read every
// container, build, validate and publish its sample, until Kafka acknowledged them) at 100,
// 1,000 and 5,000 containers — real containers as many as the machine holds (--real, default
// 100 `sleep` containers, network none, removed at the end), a synthetic cgroup tree (files in
// a tmp dir, read by the same reader) beyond — and the same cycle through the Docker stats API
// for the real ones. Prints figures; asserts nothing.

const REAL = option('real', 100);
const CYCLES = option('cycles', 5);
const STATS_CYCLES = option('stats-cycles', 2);
const SYNTHETIC = [100, 1_000, 5_000];
const INTERVAL_S = 10;

interface CycleFigures {
  containers: number;
  wallMs: number;
  cpuMs: number;
}

const silentLogger = createRootLogger({ serviceName: 'docker-collector', level: 'warn' });
const containers = new BenchContainers();
let topic: BenchTopic | undefined;
const apps: INestApplicationContext[] = [];
const tmpRoot = mkdtempSync(join(tmpdir(), 'dc-scale-'));

function configFor(topicName: string, over: Record<string, string> = {}): DockerCollectorConfig {
  return loadConfig({
    KAFKA_BROKERS: localInfra.kafkaBrokers.join(','),
    DOCKER_SOCKET: localInfra.dockerSocket,
    SAMPLES_TOPIC: topicName,
    // Cycles are driven by hand; no timers, no young reads (long-running containers).
    SAMPLE_INTERVAL_MS: '3600000',
    YOUNG_READ_INTERVAL_MS: '0',
    RESYNC_INTERVAL_MS: '0',
    HOST_NAME: 'bench-node',
    LOG_LEVEL: 'warn',
    SPOOL_DIR: join(tmpRoot, 'spool'),
    ...over,
  });
}

/**
 * The service's module (AppModule.forRoot, as main.ts runs it, without HTTP), not started:
 * cycles are driven by hand. Its own registry: each module registers the same series.
 */
async function collectorModule(config: DockerCollectorConfig): Promise<INestApplicationContext> {
  const metrics = new MetricsRegistry({
    serviceName: 'docker-collector',
    collectDefaultMetrics: false,
  });
  const app = await NestFactory.createApplicationContext(
    AppModule.forRoot(config, { logger: silentLogger, metrics, start: false }),
    { logger: false },
  );
  apps.push(app);
  return app;
}

/** Runs `warmup` + `cycles` cycles; CPU counts until the publisher has flushed. */
async function measure(
  collector: ContainerCollector,
  pub: SamplePublisher,
  cycles: number,
  warmup = 2,
): Promise<CycleFigures> {
  for (let i = 0; i < warmup; i += 1) {
    await collector.runCycle();
    await pub.flush(60_000);
  }
  let wall = 0;
  let cpu = 0;
  for (let i = 0; i < cycles; i += 1) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await collector.runCycle();
    wall += performance.now() - t0;
    await pub.flush(60_000);
    const used = process.cpuUsage(c0);
    cpu += (used.user + used.system) / 1000;
  }
  return { containers: collector.containerCount, wallMs: wall / cycles, cpuMs: cpu / cycles };
}

/** CPU µs to read one container per cycle, as the collector does (limits 1 cycle in N). */
async function readCostUs(
  targets: readonly CgroupLocation[],
  limitsEvery: number,
): Promise<number> {
  const reader = new CgroupReader(cpus().length, syncFileReader);
  const rounds = Math.max(5, Math.ceil(20_000 / Math.max(1, targets.length)));
  for (const l of targets) await reader.readStats(l); // warm-up
  const c0 = process.cpuUsage();
  for (let round = 0; round < rounds; round += 1) {
    for (const l of targets) {
      await reader.readUsage(l);
      if (round % limitsEvery === 0) await reader.readLimits(l);
    }
  }
  const used = process.cpuUsage(c0);
  return (used.user + used.system) / rounds / Math.max(1, targets.length);
}

async function locations(host: SyntheticHost): Promise<CgroupLocation[]> {
  const out: CgroupLocation[] = [];
  for (const id of await host.source.listRunning()) {
    const container = await host.source.inspect(id);
    if (container === null) continue;
    const target = await host.reader.locate(container);
    if (target.kind === 'cgroup') out.push(target.location);
  }
  return out;
}

function row(label: string, f: CycleFigures): string {
  const perContainerUs = (1000 * f.cpuMs) / Math.max(1, f.containers);
  const pct = (100 * f.cpuMs) / 1000 / INTERVAL_S;
  return [
    label.padEnd(34),
    String(f.containers).padStart(6),
    fmt(f.wallMs, 1).padStart(11),
    fmt(f.cpuMs / 1000, 4).padStart(10),
    fmt(perContainerUs, 1).padStart(9),
    `${fmt(pct, 3)} %`.padStart(10),
  ].join(' ');
}

runBench(
  15 * 60_000,
  async () => {
    const removed = await containers.removeAll();
    console.log(`cleanup: removed ${removed} benchmark containers`);
    // Each module's own stop: cycles, held files, then its publisher (SHUTDOWN_FLUSH_MS).
    for (const app of apps) await app.close().catch(() => undefined);
    await topic?.delete();
    rmSync(tmpRoot, { recursive: true, force: true });
  },
  async () => {
    topic = await BenchTopic.create('bench_scale', false);
    const config = configFor(topic.topic);
    const cgroupApp = await collectorModule({ ...config, usageSource: 'cgroup' });
    const pub = cgroupApp.get<SamplePublisher>(SAMPLE_PUBLISHER);
    const metrics = cgroupApp.get(CollectorMetricsAdapter);

    console.log(
      `collector-scale: ${cpus().length} CPUs, ${CYCLES} measured cycles each (after 2 warm-up), ` +
        `publishing to Kafka topic ${topic.topic}`,
    );
    console.log(`creating ${REAL} sleep containers (network none)…`);
    const t0 = performance.now();
    await mapConcurrent(Array.from({ length: REAL }), 4, (_, i) =>
      containers.run({
        name: `${containers.runId}_${i}`,
        cmd: ['sleep', '3600'],
        labels: { 'metering.tenant': `bench-${i % 10}` },
      }),
    );
    console.log(`  created in ${fmt((performance.now() - t0) / 1000, 1)} s`);

    const results: Array<[string, CycleFigures]> = [];

    const cgroupCollector = cgroupApp.get(ContainerCollector);
    await cgroupCollector.start();
    const real = await measure(cgroupCollector, pub, CYCLES);
    await cgroupCollector.stop();
    results.push(['real containers, cgroup files', real]);

    // The same real containers' memory.stat, so synthetic files have the real size.
    const someId = (await containers.docker.listContainers()).find((c) =>
      c.Names.some((n) => n.startsWith(`/${containers.runId}_`)),
    )?.Id;
    const mounts = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
    const location = someId === undefined ? null : locateCgroupPath(mounts, `/docker/${someId}`);
    const memoryStat =
      location?.version === 'v1'
        ? readFileSync(join(location.memory, 'memory.stat'), 'utf8')
        : 'total_inactive_file 0\n';

    // What reading costs, alone: the kernel's cgroupfs vs the synthetic tree's plain files.
    const realLocations = (await containers.docker.listContainers())
      .filter((c) => c.Names.some((n) => n.startsWith(`/${containers.runId}_`)))
      .map((c) => locateCgroupPath(mounts, `/docker/${c.Id}`))
      .filter((l): l is CgroupLocation => l !== null);
    const realReadUs = await readCostUs(realLocations, config.limitsEveryCycles);
    let syntheticReadUs = 0;

    for (const n of SYNTHETIC) {
      const host = syntheticHost(tmpRoot, n, memoryStat);
      const collector = syntheticCollector(config, host, pub, metrics, silentLogger);
      await collector.start();
      results.push([`synthetic tree, cgroup files`, await measure(collector, pub, CYCLES)]);
      await collector.stop();
      if (n === 1_000)
        syntheticReadUs = await readCostUs(await locations(host), config.limitsEveryCycles);
    }

    console.log(
      `stats API cycle over the real containers (concurrency ${config.statsApiConcurrency})…`,
    );
    // A module of its own (its spool beside the first one's, which holds its directory's lock).
    const statsApp = await collectorModule({
      ...configFor(topic.topic, { SPOOL_DIR: join(tmpRoot, 'spool-stats') }),
      usageSource: 'stats-api',
    });
    const statsPub = statsApp.get<SamplePublisher>(SAMPLE_PUBLISHER);
    const statsCollector = statsApp.get(ContainerCollector);
    await statsCollector.start();
    // Its start samples out, so its producer's first connection is not in a measured cycle.
    await statsPub.flush(60_000);
    const stats = await measure(statsCollector, statsPub, STATS_CYCLES, 0);
    await statsCollector.stop();
    results.push(['real containers, Docker stats API', stats]);

    console.log('');
    console.log(
      `${'cycle'.padEnd(34)} ${'ctrs'.padStart(6)} ${'wall ms'.padStart(11)} ${'CPU s'.padStart(10)} ` +
        `${'CPU µs/c'.padStart(9)} ${'core @10s'.padStart(10)}`,
    );
    for (const [label, figures] of results) console.log(row(label, figures));
    console.log('');
    console.log(
      `stats API / cgroup files, same ${real.containers} real containers: ` +
        `wall ×${fmt(stats.wallMs / real.wallMs, 0)}, CPU ×${fmt(stats.cpuMs / real.cpuMs, 1)} ` +
        `(collector process only; the engine's own CPU for the stats API comes on top)`,
    );
    const synthetic = (n: number): CycleFigures | undefined =>
      results.find(([label, f]) => label.startsWith('synthetic') && f.containers === n)?.[1];
    const s1000 = synthetic(1_000);
    console.log(
      `reading one container per cycle (usage + limits every ${config.limitsEveryCycles} cycles): ` +
        `${fmt(realReadUs, 1)} µs CPU from the kernel's cgroupfs, ` +
        `${fmt(syntheticReadUs, 1)} µs from the synthetic tree`,
    );
    if (s1000 !== undefined) {
      const pct = (100 * s1000.cpuMs) / 1000 / INTERVAL_S;
      // The synthetic tree's files are cheaper to read than cgroupfs: add the difference.
      const realCpuMs = s1000.cpuMs + (1_000 * (realReadUs - syntheticReadUs)) / 1000;
      const realPct = (100 * realCpuMs) / 1000 / INTERVAL_S;
      console.log(
        `projected for 1,000 containers at a ${INTERVAL_S} s interval, including publishing: ` +
          `${fmt(pct, 2)} % of one core on the synthetic tree, ` +
          `${fmt(realPct, 2)} % with cgroupfs read costs (target < 2 %)`,
      );
    }
  },
);
