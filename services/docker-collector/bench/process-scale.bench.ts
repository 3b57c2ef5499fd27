import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { createInterface } from 'node:readline';
import { NestFactory } from '@nestjs/core';
import { hostKeyLine } from '@metering/contracts';
import { createRootLogger } from '@metering/observability';
import { localInfra, procDelta, procSample } from '@metering/testing';
import { SAMPLE_PUBLISHER, type SamplePublisher } from '@metering/spool';
import { AppModule } from '../src/app.module';
import { type HeldFileReader } from '../src/cgroups';
import { CollectorMetricsAdapter } from '../src/collector/collector.metrics';
import { HELD_FILES } from '../src/collector/collector.providers';
import { loadConfig } from '../src/config';
import { BenchTopic, fmt, option, runBench } from './bench-support';
import { syntheticCollector, syntheticHost } from './synthetic-host';

// bench/process-scale: what docker-collector costs as a whole process with 1,000 and 10,000
// containers at its production 10-s interval (issue 18's targets: ≤ 1.5 % and ≤ 8 % of a core).
// Each size runs in a child process of its own: the collector on its production timers, the real
// publisher (the spool on disk, kafkajs to the local broker, each sample signed), prom-client's default
// metrics sampled as the service does; the containers are a synthetic cgroup tree (plain files in
// a tmp dir, read by the same reader, with a real memory.stat's size) and an engine answered from
// memory, because 10,000 real containers do not fit this machine; the instances followed are saved
// beside the spool every cycle, as the service does. Not in the child: Nest's HTTP server, idle
// while nobody scrapes, and the engine's event stream, idle while no container starts or stops. The parent reads the child's CPU (utime+stime, all threads)
// and context switches from /proc over the windows after it settled, and prints PASS/FAIL.
//   node bench/process-scale.mjs [--window 60] [--repeats 2] [--settle 25] [--held N]
//     [--sizes 1000,10000] [--profile PREFIX]

const TARGETS: ReadonlyArray<[containers: number, percentOfCore: number]> = [
  [1_000, 1.5],
  [10_000, 8],
];

if (process.argv.includes('--child')) {
  void child();
} else {
  parent();
}

/** The collector process: synthetic host, real publisher and timers; says `ready` once warm. */
async function child(): Promise<void> {
  const n = Number(process.argv[process.argv.indexOf('--child') + 1]);
  const topic = process.argv[process.argv.indexOf('--topic') + 1] ?? '';
  const tmpRoot = mkdtempSync(join(tmpdir(), 'dc-process-'));
  const logger = createRootLogger({ serviceName: 'docker-collector', level: 'warn' });
  // Samples are signed as the stack's collectors sign them (HMAC per sample).
  const keyFile = join(tmpRoot, 'host.key');
  writeFileSync(keyFile, `${hostKeyLine({ keyId: 'k1', key: randomBytes(32) })}\n`, {
    mode: 0o600,
  });
  const config = loadConfig({
    KAFKA_BROKERS: localInfra.kafkaBrokers.join(','),
    DOCKER_SOCKET: '/nonexistent',
    SAMPLES_TOPIC: topic,
    HOST_NAME: 'bench-node',
    LOG_LEVEL: 'warn',
    SPOOL_DIR: join(tmpRoot, 'spool'),
    HOST_AUTH_KEY_FILE: keyFile,
    ...(argValue('--held') === undefined ? {} : { HELD_CGROUP_FILES: argValue('--held') }),
  });
  // The service's module (without HTTP), not started: its publisher, metrics (prom-client's
  // default metrics too) and held cgroup files (HELD_CGROUP_FILES, default 4,096) serve a
  // collector of the synthetic host instead of the engine's.
  const app = await NestFactory.createApplicationContext(
    AppModule.forRoot(config, { logger, start: false }),
    { logger: false },
  );
  const pub = app.get<SamplePublisher>(SAMPLE_PUBLISHER);
  const metrics = app.get(CollectorMetricsAdapter);
  const held = app.get<HeldFileReader | null>(HELD_FILES);
  const host = syntheticHost(tmpRoot, n, realMemoryStat(), held?.read);
  const collector = syntheticCollector(config, host, pub, metrics, logger);
  await collector.start();
  await collector.runCycle();
  await pub.flush(120_000);
  // --profile FILE: V8's CPU profile of the measured time (Chrome DevTools format).
  const profileFile = argValue('--profile');
  const session = profileFile === undefined ? undefined : new Session();
  if (session !== undefined) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  process.stdout.write(`ready ${collector.containerCount}\n`);
  const stop = (): void => {
    void (async () => {
      if (session === undefined || profileFile === undefined) return;
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(profileFile, JSON.stringify(profile));
    })()
      .then(() => collector.stop())
      // The module's stop: its held files, then the publisher (SHUTDOWN_FLUSH_MS, 10 s).
      .then(() => app.close())
      .finally(() => {
        rmSync(tmpRoot, { recursive: true, force: true });
        process.exit(0);
      });
  };
  process.once('SIGTERM', stop);
}

function argValue(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : process.argv[at + 1];
}

/** A real memory.stat (the root cgroup's) so that each synthetic read has the real size. */
function realMemoryStat(): string {
  for (const path of ['/sys/fs/cgroup/memory/memory.stat', '/sys/fs/cgroup/memory.stat']) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      // next
    }
  }
  return 'total_inactive_file 0\n';
}

function parent(): void {
  const WINDOW_S = option('window', 60);
  const REPEATS = option('repeats', 2);
  const SETTLE_S = option('settle', 25);
  // --held N: HELD_CGROUP_FILES of the collector (default: the service's default).
  const HELD = option('held', -1);
  // --profile PREFIX: each child writes its CPU profile of the measured time to PREFIX-<n>.cpuprofile.
  const PROFILE = argValue('--profile');
  // --sizes 1000,10000: only these of the sizes.
  const SIZES = argValue('--sizes')?.split(',').map(Number);
  let topic: BenchTopic | undefined;
  let running: ReturnType<typeof spawn> | undefined;
  runBench(
    (SETTLE_S + WINDOW_S * REPEATS + 180) * TARGETS.length * 1000,
    async () => {
      running?.kill('SIGKILL');
      await topic?.delete();
    },
    async () => {
      topic = await BenchTopic.create('bench_process', false);
      console.log(
        `process-scale: docker-collector as a process, synthetic containers, 10-s interval; ` +
          `settle ${SETTLE_S} s, ${REPEATS} × ${WINDOW_S} s windows`,
      );
      const rows: string[] = [];
      let failed = false;
      for (const [n, target] of TARGETS.filter(([n]) => SIZES?.includes(n) ?? true)) {
        const started = performance.now();
        const proc = spawn(
          process.execPath,
          [
            process.argv[1] ?? '',
            '--child',
            String(n),
            '--topic',
            topic.topic,
            ...(HELD < 0 ? [] : ['--held', String(HELD)]),
            ...(PROFILE === undefined ? [] : ['--profile', `${PROFILE}-${n}.cpuprofile`]),
          ],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        running = proc;
        const ready = await new Promise<string>((resolve, reject) => {
          proc.once('exit', (code) => reject(new Error(`child exited (${code}) before ready`)));
          createInterface({ input: proc.stdout }).on('line', (line) => {
            if (line.startsWith('ready')) resolve(line);
          });
        });
        const bootS = (performance.now() - started) / 1000;
        await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
        const cpu: number[] = [];
        const switches: number[] = [];
        let peakRssMb = 0;
        for (let r = 0; r < REPEATS; r += 1) {
          const a = procSample(proc.pid!);
          for (let s = 0; s < WINDOW_S; s += 1) {
            await new Promise((resolve) => setTimeout(resolve, 1000));
            peakRssMb = Math.max(peakRssMb, procSample(proc.pid!).rssKb / 1024);
          }
          const d = procDelta(a, procSample(proc.pid!));
          cpu.push(d.cpuPercent);
          switches.push(d.switchesPerS);
        }
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
        running = undefined;
        const worst = Math.max(...cpu);
        const pass = worst <= target;
        failed ||= !pass;
        rows.push(
          `| ${n.toLocaleString('en')} (${ready.split(' ')[1]} tracked) | ${cpu.map((c) => fmt(c, 2)).join(', ')} | ` +
            `${switches.map((s) => fmt(s, 1)).join(', ')} | ${fmt(peakRssMb, 0)} | ${fmt(bootS, 0)} s | ≤ ${target} % | ${pass ? 'PASS' : 'FAIL'} |`,
        );
      }
      console.log('');
      console.log(
        '| containers | CPU, % of a core (each window) | context switches/s | peak RSS MB | to first cycle | target | verdict |',
      );
      console.log('|---|---|---|---|---|---|---|');
      for (const r of rows) console.log(r);
      console.log(
        `load average (1 min) at the end: ${fmt(loadavg()[0] ?? 0, 1)} (a shared machine: repeat for spread)`,
      );
      process.exitCode = failed ? 1 : 0;
    },
  );
}
