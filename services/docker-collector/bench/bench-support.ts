import { readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { Kafka, logLevel } from 'kafkajs';
import { type SampleEvent, decodeSample } from '@metering/contracts';
import { mapConcurrent } from '@metering/observability/resilience';
import { localInfra, uniqueName } from '@metering/testing';
import { parseMountInfo } from '../src/cgroups';

// Shared by the benchmark scripts: containers they own (labelled, removed on exit, even on
// Ctrl-C or a timeout), a Kafka topic of their own, and number formatting.

export const BENCH_LABEL = 'metering.bench-run';

export class BenchContainers {
  readonly docker = new Docker({ socketPath: localInfra.dockerSocket, timeout: 60_000 });
  readonly runId = uniqueName('bench');
  private readonly parents = new Set<string>();

  async run(options: {
    name: string;
    cmd: string[];
    labels?: Record<string, string>;
    cgroupParent?: string;
    autoRemove?: boolean;
  }): Promise<Docker.Container> {
    if (options.cgroupParent !== undefined) this.parents.add(options.cgroupParent);
    const container = await this.docker.createContainer({
      name: options.name,
      Image: localInfra.busyboxImage,
      Cmd: options.cmd,
      Labels: { ...options.labels, [BENCH_LABEL]: this.runId },
      HostConfig: {
        NetworkMode: 'none',
        ...(options.cgroupParent === undefined ? {} : { CgroupParent: options.cgroupParent }),
        ...(options.autoRemove === true ? { AutoRemove: true } : {}),
      },
    });
    await container.start();
    return container;
  }

  async removeAll(): Promise<number> {
    const listed = await this.docker.listContainers({
      all: true,
      filters: { label: [`${BENCH_LABEL}=${this.runId}`] },
    });
    await mapConcurrent(listed, 8, (c) =>
      this.docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    );
    const mounts = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
    for (const parent of this.parents) {
      for (const mount of new Set(mounts.v1.values())) {
        try {
          rmdirSync(join(mount, parent));
        } catch {
          // absent or not empty
        }
      }
    }
    return listed.length;
  }
}

/** Runs `main`, always cleaning up; gives up (and cleans up) after `limitMs`. */
export function runBench(
  limitMs: number,
  cleanup: () => Promise<unknown>,
  main: () => Promise<void>,
): void {
  let cleaned = false;
  const clean = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
  };
  const timer = setTimeout(() => {
    console.error(`time limit of ${limitMs / 1000} s reached; cleaning up`);
    void clean().then(() => process.exit(3));
  }, limitMs);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`${signal}: cleaning up`);
      void clean().then(() => process.exit(130));
    });
  }
  main()
    .then(clean, async (error: unknown) => {
      console.error(error);
      await clean();
      process.exitCode = 1;
    })
    .finally(() => {
      clearTimeout(timer);
      // kafkajs and dockerode keep sockets alive; the figures are printed.
      setTimeout(() => process.exit(), 200).unref();
    });
}

/** A topic of the benchmark's own, with a consumer collecting its samples. */
export class BenchTopic {
  readonly samples: SampleEvent[] = [];
  private constructor(
    readonly topic: string,
    private readonly kafka: Kafka,
    private readonly stopConsumer: () => Promise<void>,
  ) {}

  static async create(prefix: string, consume: boolean): Promise<BenchTopic> {
    const topic = uniqueName(prefix);
    const kafka = new Kafka({
      clientId: 'docker-collector-bench',
      brokers: [...localInfra.kafkaBrokers],
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3 }] });
    await admin.disconnect();
    if (!consume) return new BenchTopic(topic, kafka, () => Promise.resolve());
    const consumer = kafka.consumer({ groupId: uniqueName(`${prefix}_group`) });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const benchTopic: BenchTopic = new BenchTopic(topic, kafka, () => consumer.disconnect());
    await consumer.run({
      eachMessage: ({ message }) => {
        const decoded = decodeSample(message.value);
        if (decoded.ok) benchTopic.samples.push(decoded.value);
        return Promise.resolve();
      },
    });
    return benchTopic;
  }

  async delete(): Promise<void> {
    await this.stopConsumer().catch(() => undefined);
    const admin = this.kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [this.topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

export const fmt = (n: number, digits = 2): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** --name value and --name=value command-line options. */
export function option(name: string, fallback: number): number {
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (arg === `--${name}`) return Number(args[i + 1]);
    if (arg.startsWith(`--${name}=`)) return Number(arg.slice(name.length + 3));
  }
  return fallback;
}
