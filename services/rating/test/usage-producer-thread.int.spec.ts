import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { resolveKafkaConfig } from '@metering/kafka';
import { createRootLogger, isLogLevel } from '@metering/observability';
import { localInfra, uniqueName, waitFor } from '@metering/testing';
import { type UsageProducerSettings } from '../src/publishing/usage-producer.protocol';
import { UsageProducerError, UsageProducerThread } from '../src/publishing/usage-producer.thread';

// UsageProducerThread (src/publishing/usage-producer.thread.ts) and its worker against the real
// broker: `send` resolves once every event is on the topic, exactly once and in order per tenant,
// a dead thread fails its sends and the next send starts a new one, and stop() lets the process
// end by itself. Every test has a fresh topic with several partitions, deleted at the end.
const PARTITIONS = 4;
// Uneven weights: some tenants have many events, some few (so groups and chunks differ).
const TENANTS = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark', 'wayne'];
const WEIGHTS = [9, 6, 4, 3, 2, 1, 1];
const TEST_TIMEOUT_MS = 30_000;

const threadModule = join(__dirname, '..', 'src', 'publishing', 'usage-producer.thread.js');
const realWorker = join(__dirname, '..', 'src', 'publishing', 'usage-producer.worker.js');
/** Plain JS, not compiled: it stays in the source tree (test/fixtures). */
const dyingWorker = join(__dirname, '..', '..', 'test', 'fixtures', 'dying-usage-producer.js');

const kafka = new Kafka({
  clientId: 'usage-producer-thread-test',
  brokers: [...localInfra.kafkaBrokers],
  logLevel: logLevel.NOTHING,
});
/** Set TEST_LOG_LEVEL=debug to see the threads' lines; by default the expected errors are quiet. */
const testLevel = process.env.TEST_LOG_LEVEL;
const logger = createRootLogger({
  serviceName: 'rating-test',
  level: isLogLevel(testLevel) ? testLevel : 'fatal',
});

const topics: string[] = [];
const threads: UsageProducerThread[] = [];
let stateDir = '';

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'usage-producer-thread-'));
});

after(async () => {
  await Promise.all(threads.map((t) => t.stop(5_000)));
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
  } finally {
    await admin.disconnect();
  }
  await rm(stateDir, { recursive: true, force: true });
});

async function freshTopic(label: string): Promise<string> {
  const topic = uniqueName(`usage_thread_${label}`);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: PARTITIONS }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
  topics.push(topic);
  return topic;
}

function settingsFor(
  topic: string,
  overrides: Partial<UsageProducerSettings> = {},
): UsageProducerSettings {
  return {
    kafka: resolveKafkaConfig({
      brokers: localInfra.kafkaBrokers,
      clientId: uniqueName('usage-thread'),
    }),
    topic,
    compression: 'none',
    requestMaxBytes: 16_000,
    producers: 3,
    logLevel: isLogLevel(testLevel) ? testLevel : 'warn',
    ...overrides,
  };
}

function newThread(settings: UsageProducerSettings, script?: string): UsageProducerThread {
  const thread =
    script === undefined
      ? new UsageProducerThread(settings, logger)
      : new UsageProducerThread(settings, logger, script);
  threads.push(thread);
  return thread;
}

interface Batch {
  keys: string[];
  values: string[];
}

/**
 * `count` usage events of realistic size (~600 bytes of JSON, like billing.usage.v1), keyed by
 * tenant; `seq` numbers each tenant's events in send order, continuing from `seqs`.
 */
function usageEvents(run: string, count: number, seqs = new Map<string, number>()): Batch {
  const keys: string[] = [];
  const values: string[] = [];
  const total = WEIGHTS.reduce((a, b) => a + b, 0);
  let state = 12345;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    let pick = state % total;
    let t = 0;
    while (pick >= WEIGHTS[t]!) pick -= WEIGHTS[t++]!;
    const tenant = TENANTS[t]!;
    const seq = seqs.get(tenant) ?? 0;
    seqs.set(tenant, seq + 1);
    const start = Date.UTC(2026, 10, 1) + seq * 60_000;
    keys.push(tenant);
    values.push(
      JSON.stringify({
        usageId: `${run}-${tenant}-${seq}`,
        seq,
        tenantId: tenant,
        resource: { kind: 'container', id: `${tenant}-res-${state % 97}`, host: `host-${i % 5}` },
        interval: {
          start: new Date(start).toISOString(),
          end: new Date(start + 60_000).toISOString(),
        },
        cpuCoreSeconds: ((state % 100_000) / 997).toFixed(12),
        memoryGibSeconds: ((state % 1_000_000) / 7919).toFixed(12),
        amounts: {
          currency: 'EUR',
          cpu: ((state % 5_000) / 1e7).toFixed(20),
          memory: ((state % 7_000) / 1e8).toFixed(20),
          total: ((state % 12_000) / 1e7).toFixed(20),
        },
        planId: 'tiered',
        planVersion: 1,
        ratedAt: new Date(start + 120_000).toISOString(),
        period: '2026-11',
        basis: 'usage',
        priced: {
          cpu: ((state % 3_000) / 13).toFixed(12),
          memory: ((state % 9_000) / 17).toFixed(12),
        },
        planAssigned: true,
        gap: false,
      }),
    );
  }
  return { keys, values };
}

/** Records on the topic right now (high watermarks; the topic is fresh, nothing is deleted). */
async function recordsOnTopic(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

interface Received {
  partition: number;
  key: string;
  value: string;
}

/** Everything on the topic up to its high watermarks, per partition in offset order. */
async function readTopic(topic: string): Promise<Received[][]> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  const high = new Map(offsets.map((p) => [p.partition, Number(p.high)]));
  const received: Received[][] = Array.from({ length: PARTITIONS }, () => []);
  const next = new Map(offsets.map((p) => [p.partition, Number(p.low)]));
  const problems: string[] = [];
  const groupId = uniqueName('usage_thread_reader');
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          if (Number(m.offset) !== next.get(batch.partition)) {
            problems.push(
              `partition ${batch.partition}: offset ${m.offset} after ${next.get(batch.partition)}`,
            );
          }
          next.set(batch.partition, Number(m.offset) + 1);
          received[batch.partition]!.push({
            partition: batch.partition,
            key: m.key?.toString('utf8') ?? '',
            value: m.value?.toString('utf8') ?? '',
          });
        }
        await Promise.resolve();
      },
    });
    await waitFor(() => [...high].every(([p, h]) => (next.get(p) ?? 0) >= h), {
      timeoutMs: 20_000,
      intervalMs: 50,
      description: `every record of ${topic} up to the high watermarks`,
    });
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
  assert.deepEqual(problems, [], 'each partition read once, without gaps');
  return received;
}

/** Every sent event is on the topic exactly once; each tenant's are on one partition, in order. */
function assertExactlyOnceInOrder(sent: Batch, received: Received[][]): void {
  const all = received.flat();
  assert.equal(all.length, sent.values.length, 'as many records as events sent');
  const seen = new Map<string, number>();
  for (const r of all) {
    const id = (JSON.parse(r.value) as { usageId: string }).usageId;
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  for (const value of sent.values) {
    const id = (JSON.parse(value) as { usageId: string }).usageId;
    assert.equal(seen.get(id), 1, `${id} exactly once`);
  }
  const expectedCounts = new Map<string, number>();
  for (const key of sent.keys) expectedCounts.set(key, (expectedCounts.get(key) ?? 0) + 1);
  for (const [tenant, count] of expectedCounts) {
    const partitions = new Set(all.filter((r) => r.key === tenant).map((r) => r.partition));
    assert.equal(partitions.size, 1, `${tenant}'s events are on one partition`);
    const [partition] = [...partitions];
    const seqs = received[partition!]!.filter((r) => r.key === tenant).map(
      (r) => (JSON.parse(r.value) as { seq: number; tenantId: string }).seq,
    );
    assert.deepEqual(
      seqs,
      Array.from({ length: count }, (_, i) => i),
      `${tenant}'s events in send order`,
    );
  }
  for (const r of all) {
    assert.equal((JSON.parse(r.value) as { tenantId: string }).tenantId, r.key, 'keyed by tenant');
  }
}

const isProduceFailure = (error: unknown): boolean => {
  assert.ok(error instanceof UsageProducerError, `a UsageProducerError, got ${String(error)}`);
  assert.equal(error.code, 'USAGE_PRODUCE_FAILED');
  return true;
};

async function startsOf(stateFile: string): Promise<number> {
  const text = await readFile(stateFile, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).length;
}

describe('UsageProducerThread against the real broker', () => {
  for (const compression of ['none', 'gzip'] as const) {
    test(
      `send resolves once every event is on the topic, once each, in order per tenant (${compression})`,
      { timeout: TEST_TIMEOUT_MS },
      async () => {
        const topic = await freshTopic(compression);
        // Small requests: a few thousand events make over a hundred produce requests over three
        // producers (gzip: the bound is on uncompressed bytes, as in the service).
        const thread = newThread(
          settingsFor(topic, {
            compression,
            requestMaxBytes: compression === 'gzip' ? 24_000 : 16_000,
          }),
        );
        const seqs = new Map<string, number>();
        const first = usageEvents(`${compression}-a`, 2_500, seqs);
        const second = usageEvents(`${compression}-b`, 1_000, seqs);
        const bytes = first.values.reduce((n, v) => n + Buffer.byteLength(v), 0);
        assert.ok(bytes / first.values.length > 500, 'events of realistic size');

        await thread.send(first.keys, first.values);
        // Acknowledged means on the topic: no waiting, the records are there when send resolves.
        assert.equal(await recordsOnTopic(topic), first.values.length);
        await thread.send(second.keys, second.values);
        assert.equal(await recordsOnTopic(topic), first.values.length + second.values.length);

        const all = {
          keys: [...first.keys, ...second.keys],
          values: [...first.values, ...second.values],
        };
        assertExactlyOnceInOrder(all, await readTopic(topic));
        await thread.stop();
      },
    );
  }

  test(
    "the thread's client takes the TLS settings it is given: against the plaintext listener it fails fast",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      // The same settings without TLS connect (the other tests); with it, only the thread's own
      // client can make start() fail, so this proves the settings crossed the thread boundary.
      const settings = settingsFor('unused-topic', {
        kafka: resolveKafkaConfig({
          brokers: localInfra.kafkaBrokers,
          clientId: uniqueName('usage-thread-tls'),
          connectionTimeoutMs: 2_000,
          retry: { retries: 1, initialRetryTimeMs: 100, maxRetryTimeMs: 500 },
          tls: { ca: null, cert: null, key: null, servername: null, rejectUnauthorized: true },
        }),
      });
      const thread = newThread(settings);
      const started = performance.now();
      await assert.rejects(thread.start(), (error: Error) => {
        assert.ok(error instanceof UsageProducerError, String(error));
        assert.match(
          error.message,
          /^usage producer: .*(Connection|TLS|socket|closed|disconnected)/i,
        );
        return true;
      });
      assert.ok(performance.now() - started < TEST_TIMEOUT_MS / 2);
      await thread.stop(1_000);
    },
  );

  test(
    'a thread that dies fails its pending sends, the next send starts a new thread; after stop() send rejects',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const topic = await freshTopic('dying');
      const stateFile = join(stateDir, 'dying-starts');
      // The fixture reads its own fields beside the settings (workerData).
      const settings = { ...settingsFor(topic), fixtureStateFile: stateFile, realWorker };
      const thread = newThread(settings, dyingWorker);
      await thread.start();
      assert.equal(await startsOf(stateFile), 1);

      const batch = usageEvents('dying', 600);
      const half = 300;
      // Two sends pending when the thread dies (on the first one it receives): both fail.
      const pending = [
        thread.send(batch.keys.slice(0, half), batch.values.slice(0, half)),
        thread.send(batch.keys.slice(half), batch.values.slice(half)),
      ];
      const outcomes = await Promise.allSettled(pending);
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ['rejected', 'rejected'],
      );
      for (const o of outcomes) if (o.status === 'rejected') isProduceFailure(o.reason);
      assert.equal(await startsOf(stateFile), 1, 'no thread started by the failure itself');
      assert.equal(await recordsOnTopic(topic), 0, 'nothing published by the dead thread');

      // The retried batch: a new thread (the fixture hands over to the real worker) publishes it.
      await thread.send(batch.keys, batch.values);
      assert.equal(await startsOf(stateFile), 2, 'the next send started a new thread');
      assert.equal(await recordsOnTopic(topic), batch.values.length);
      assertExactlyOnceInOrder(batch, await readTopic(topic));

      await thread.stop();
      await assert.rejects(thread.send(batch.keys, batch.values), isProduceFailure);
      assert.equal(await startsOf(stateFile), 2, 'a send after stop() starts no thread');
      assert.equal(await recordsOnTopic(topic), batch.values.length);
    },
  );

  test(
    'stop() ends the thread gracefully and the process then ends by itself',
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const topic = await freshTopic('stop');
      // A process of its own: it starts a thread, sends, stops it and does nothing else. If any
      // handle were left (the thread, a producer socket, a timer), it would not end.
      const child = spawn(
        process.execPath,
        [
          '-e',
          `
          const { UsageProducerThread } = require(process.argv[1]);
          const { createRootLogger } = require('@metering/observability');
          const settings = JSON.parse(process.argv[2]);
          (async () => {
            const thread = new UsageProducerThread(settings, createRootLogger({ level: 'fatal' }));
            await thread.start();
            let exitCode = null;
            thread.worker.once('exit', (code) => { exitCode = code; });
            const keys = Array.from({ length: 200 }, (_, i) => 't' + (i % 7));
            await thread.send(keys, keys.map((k, i) => JSON.stringify({ k, i })));
            await thread.stop(10000);
            // Besides the stdout and stderr pipes to the test (PipeWrap).
            const resources = process.getActiveResourcesInfo().filter((r) => r !== 'PipeWrap');
            process.stdout.write(JSON.stringify({ stopped: true, exitCode, resources }) + '\\n');
          })().catch((e) => { console.error(e); process.exitCode = 1; });
          `,
          threadModule,
          JSON.stringify(settingsFor(topic)),
        ],
        { cwd: __dirname, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      const ended = new Promise<number | null>((resolve) => child.once('exit', resolve));
      // A guard against a hang, not a measurement: a process with a leftover handle never ends.
      const guard = setTimeout(() => child.kill('SIGKILL'), TEST_TIMEOUT_MS - 5_000);
      const code = await ended;
      clearTimeout(guard);

      assert.equal(code, 0, `the process ended by itself (stderr: ${stderr})`);
      const report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
        stopped?: boolean;
        exitCode?: number | null;
        resources?: string[];
      };
      // Exit code 0: the thread flushed, disconnected and ended on its own; terminate() (stop's
      // fallback after its timeout) would have ended it with 1.
      // No handle left once stop() has returned: no thread, message port, socket or timer.
      assert.deepEqual(report, { stopped: true, exitCode: 0, resources: [] });
      assert.equal(await recordsOnTopic(topic), 200);
    },
  );
});
