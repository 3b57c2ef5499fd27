// Shared setup of the offset continuity specs (offset-continuity-*.int.spec.ts): samples of their
// own resources produced to one partition, the `rating offsets` command, and what the running
// process reports (/healthz's stopped partitions, its metrics, the positions it stored).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { type SampleEvent, encode } from '@metering/contracts';
import { type Kafka } from 'kafkajs';
import { freePort, localInfra, waitFor } from '@metering/testing';
import { type RatingWorld } from './rating-harness';
import { generateSamples } from './sample-stream';

export const ZONES = { acme: 'UTC', globex: 'Europe/Berlin' };
const START = Date.UTC(2026, 10, 2, 8, 0, 0);
const cli = join(__dirname, '..', 'src', 'cli', 'rating.cli.js');

/** Samples of their own resources (the seed is in the resource ids). */
export function stream(seed: number, resources: number, samplesPerResource: number): SampleEvent[] {
  return generateSamples({
    seed,
    tenants: Object.keys(ZONES),
    resources,
    samplesPerResource,
    startMs: START,
  }).sort((a, b) => Date.parse(a.observedAt) - Date.parse(b.observedAt));
}

export async function produceTo(
  w: RatingWorld,
  partition: number,
  samples: readonly SampleEvent[],
  kafka: Kafka = w.kafka,
) {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < samples.length; i += 200) {
    await producer.send({
      topic: w.topic,
      messages: samples
        .slice(i, i + 200)
        .map((s) => ({ key: s.resource.id, value: encode(s), partition })),
    });
  }
  await producer.disconnect();
}

export function runCli(
  w: RatingWorld,
  args: string[],
  brokers: readonly string[] = localInfra.kafkaBrokers,
): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [cli, 'offsets', ...args], {
    env: {
      ...process.env,
      KAFKA_BROKERS: brokers.join(','),
      DATABASE_URL: localInfra.postgresUrl,
      DATABASE_SCHEMA: w.schema,
      SAMPLES_TOPIC: w.topic,
      RATING_GROUP_ID: w.groupId,
      OFFSET_DECISION_POLL_MS: '500',
    },
    encoding: 'utf8',
    timeout: 90_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

export interface Stopped {
  topic: string;
  partition: number;
  reason: string;
  messagesLost?: string;
}

export async function health(port: number): Promise<{ code: number; stopped: Stopped[] }> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`);
  const body = (await response.json()) as {
    checks?: Record<string, { detail?: { stopped?: Stopped[] } }>;
    message?: { checks?: Record<string, { detail?: { stopped?: Stopped[] } }> };
  };
  // 503 carries the report as the exception's body.
  const checks = body.checks ?? body.message?.checks ?? {};
  return { code: response.status, stopped: checks.offsets?.detail?.stopped ?? [] };
}

export async function metrics(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** The value of the series of `name` carrying every label given (others, e.g. service, too). */
export function sampleValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text
    .split('\n')
    .find(
      (l) =>
        (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) &&
        wanted.every((pair) => l.includes(pair)),
    );
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

export async function startRating(
  w: RatingWorld,
  label: string,
  env: Record<string, string> = {},
): Promise<number> {
  const port = await freePort();
  w.startRating(label, { PORT: String(port), OFFSET_DECISION_POLL_MS: '500', ...env });
  await waitFor(
    async () => {
      try {
        await fetch(`http://127.0.0.1:${port}/healthz`);
        return true;
      } catch {
        return false;
      }
    },
    { timeoutMs: 60_000, intervalMs: 250, description: 'rating answering /healthz' },
  );
  return port;
}

export async function waitForStop(
  port: number,
  partition: number,
  reason: string,
): Promise<Stopped> {
  let found: Stopped | undefined;
  await waitFor(
    async () => {
      const h = await health(port);
      found = h.stopped.find((s) => s.partition === partition && s.reason === reason);
      return h.code === 503 && found !== undefined;
    },
    { timeoutMs: 90_000, intervalMs: 250, description: `partition ${partition}: ${reason}` },
  );
  return found!;
}

export async function skippedAsApplied(port: number): Promise<number> {
  return (
    sampleValue(await metrics(port), 'rating_messages_total', { outcome: 'already_applied' }) ?? 0
  );
}

export async function stored(w: RatingWorld, partition: number): Promise<string | undefined> {
  return (await w.storedOffsets()).get(partition);
}

export async function waitForStored(
  w: RatingWorld,
  partition: number,
  offset: number,
): Promise<void> {
  await waitFor(async () => (await stored(w, partition)) === String(offset), {
    timeoutMs: 90_000,
    intervalMs: 250,
    description: `partition ${partition} stored at ${offset}`,
  });
}
