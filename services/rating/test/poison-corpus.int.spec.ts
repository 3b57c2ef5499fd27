import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeDlq, encode, type SampleEvent } from '@metering/contracts';
import { waitFor } from '@metering/testing';
import { RatingWorld, encodeAll, expectedLedger } from './rating-harness';
import { generateSamples } from './sample-stream';

// The poison corpus: one message of every class that ever stalled, fooled or slipped past
// billing (issue 13), alone on a partition and then mixed into a real stream, through the real
// rating process against real Kafka and PostgreSQL. Every message is rated or dead-lettered with
// its reason, the partition always moves, the good samples are rated exactly as if the poison had
// never been there, and the process never restarts.

const ZONES = { acme: 'UTC', globex: 'Asia/Kolkata' };
const START = Date.UTC(2026, 10, 2, 8, 0, 0);

let world: RatingWorld | undefined;
afterEach(async () => {
  await world?.tearDown();
  world = undefined;
});

interface Poison {
  readonly name: string;
  readonly key: string | null;
  readonly value: Buffer | string | null;
  readonly code: string;
}

type Json = Record<string, unknown>;

/** A copy of `base` with `path` set to `value`; the resource gets its own id unless kept. */
function poisonOf(
  base: SampleEvent,
  name: string,
  code: string,
  edit: (s: Json) => void,
  keep = false,
): Poison {
  const sample = structuredClone(base) as unknown as Json;
  const resource = sample['resource'] as Json;
  if (!keep) resource['id'] = `poison-${name.replace(/\W+/g, '-')}`;
  edit(sample);
  const id = (sample['resource'] as Json)['id'];
  return { name, key: typeof id === 'string' ? id : 'x', value: encode(sample), code };
}

function set(path: string, value: unknown): (s: Json) => void {
  return (s) => {
    const keys = path.split('.');
    let target = s;
    for (const k of keys.slice(0, -1)) target = target[k] as Json;
    target[keys.at(-1)!] = value;
  };
}

function corpus(base: SampleEvent, glitchOf: SampleEvent): Poison[] {
  const minuteAfterStart = new Date(Date.parse(base.resource.startedAt) + 60_000).toISOString();
  return [
    { name: 'not JSON', key: 'k', value: 'not json at all', code: 'INVALID_JSON' },
    {
      name: 'not UTF-8',
      key: 'k',
      value: Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
      code: 'INVALID_JSON',
    },
    { name: 'a tombstone', key: 'k', value: null, code: 'INVALID_JSON' },
    { name: 'a JSON number', key: 'k', value: '42', code: 'SCHEMA_VIOLATION' },
    {
      name: 'another version',
      key: 'k',
      value: '{"schema":"metering.sample.v9"}',
      code: 'UNKNOWN_SCHEMA_VERSION',
    },
    poisonOf(base, 'NUL in the resource id', 'SCHEMA_VIOLATION', set('resource.id', 'web\u00001')),
    poisonOf(
      base,
      'escape in the tenant',
      'SCHEMA_VIOLATION',
      set('resource.tenantId', 'acme\u001b[2J'),
    ),
    poisonOf(
      base,
      'an id too long for an index row',
      'SCHEMA_VIOLATION',
      set('resource.id', 'x'.repeat(3_000)),
    ),
    poisonOf(base, 'a 300 kB name', 'SCHEMA_VIOLATION', set('resource.name', 'n'.repeat(300_000))),
    poisonOf(
      base,
      'an unpaired surrogate',
      'SCHEMA_VIOLATION',
      set('resource.instanceId', 'i\ud800'),
    ),
    poisonOf(
      base,
      'cores too small to convert',
      'SCHEMA_VIOLATION',
      set('cpu.allocationCores', 1e-300),
    ),
    poisonOf(
      base,
      'cores too many to convert',
      'SCHEMA_VIOLATION',
      set('cpu.allocationCores', 1e21),
    ),
    poisonOf(base, 'a counter as a number', 'SCHEMA_VIOLATION', set('cpu.usageNs', 5e9)),
    poisonOf(base, 'negative memory', 'SCHEMA_VIOLATION', set('memory.usageBytes', -1)),
    poisonOf(base, '2^64-1 ns a minute after start', 'IMPLAUSIBLE_CPU', (s) => {
      set('cpu.usageNs', '18446744073709551615')(s);
      set('observedAt', minuteAfterStart)(s);
    }),
    poisonOf(base, '8 PiB of memory', 'IMPLAUSIBLE_MEMORY', set('memory.usageBytes', 2 ** 53 - 1)),
    // A glitch on a resource of the stream, between its real samples: refused, and its next real
    // sample still carries the CPU (the expected ledger is the stream without it).
    poisonOf(
      glitchOf,
      'a glitch on a real resource',
      'IMPLAUSIBLE_CPU',
      (s) => {
        set('cpu.usageNs', (BigInt(glitchOf.cpu.usageNs) + 10n ** 17n).toString())(s);
        set('observedAt', new Date(Date.parse(glitchOf.observedAt) + 1).toISOString())(s);
      },
      true,
    ),
    {
      ...poisonOf(base, 'keyed by another resource', 'KEY_MISMATCH', () => undefined),
      key: 'other',
    },
    { ...poisonOf(base, 'no key', 'KEY_MISMATCH', () => undefined), key: null },
    poisonOf(
      base,
      'a day ahead',
      'SAMPLE_IN_FUTURE',
      set('observedAt', new Date(Date.now() + 86_400_000).toISOString()),
    ),
    poisonOf(base, 'the year 1001', 'SAMPLE_TOO_OLD', (s) => {
      set('resource.startedAt', '1001-01-01T00:00:00.000Z')(s);
      set('observedAt', '1001-01-01T00:10:00.000Z')(s);
    }),
  ];
}

async function produce(
  w: RatingWorld,
  messages: readonly { key: string | null; value: Buffer | string | null }[],
): Promise<void> {
  const producer = w.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let chunk: { key: string | null; value: Buffer | string | null }[] = [];
  let bytes = 0;
  const flush = async (): Promise<void> => {
    if (chunk.length > 0) await producer.send({ topic: w.topic, messages: chunk });
    chunk = [];
    bytes = 0;
  };
  for (const m of messages) {
    const size = m.value === null ? 0 : Buffer.byteLength(m.value);
    if (bytes + size > 500_000) await flush();
    chunk.push(m);
    bytes += size;
  }
  await flush();
  await producer.disconnect();
}

async function deadLetters(w: RatingWorld, count: number): Promise<string[]> {
  const consumer = w.kafka.consumer({ groupId: `${w.groupId}-dlq-${count}` });
  const codes: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: w.dlqTopic, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      const decoded = decodeDlq(message.value);
      assert.ok(decoded.ok, 'DLQ records follow the metering.samples.dlq.v1 contract');
      if (decoded.ok) codes.push(decoded.value.reason.code);
      return Promise.resolve();
    },
  });
  await waitFor(() => codes.length >= count, { timeoutMs: 30_000, description: 'the DLQ records' });
  await consumer.disconnect();
  return codes;
}

describe('rating: the poison corpus (real broker, database and process)', () => {
  test('every message is rated or dead-lettered with its reason; the partition moves; the good samples are exact', async () => {
    world = new RatingWorld();
    await world.setUp(1, ZONES);
    const valid = generateSamples({
      seed: 31,
      tenants: Object.keys(ZONES),
      resources: 6,
      samplesPerResource: 40,
      startMs: START,
    });
    const poison = corpus(valid[0]!, valid[100]!);

    // Alone: nothing but poison on the partition.
    await produce(world, poison);
    const rating = world.startRating('poison');
    await world.waitForCatchUp(60_000);
    assert.deepEqual(
      await deadLetters(world, poison.length),
      poison.map((p) => p.code),
    );
    assert.deepEqual(await world.ledger(), new Map(), 'nothing of the poison was rated');

    // Mixed into a real stream: each poison right after a valid sample.
    const messages: { key: string | null; value: Buffer | string | null }[] = [];
    const encoded = encodeAll(valid);
    const every = Math.floor(valid.length / poison.length);
    valid.forEach((s, i) => {
      messages.push({ key: s.resource.id, value: encoded[i]! });
      const p = i % every === 0 ? poison[i / every] : undefined;
      // The glitch goes right after the real sample it imitates.
      if (p !== undefined && p.name !== 'a glitch on a real resource') messages.push(p);
      if (i === 100) messages.push(poison.find((q) => q.name === 'a glitch on a real resource')!);
    });
    assert.equal(messages.length, valid.length + poison.length);
    await produce(world, messages);
    await world.waitForCatchUp(120_000);

    assert.deepEqual(
      await world.ledger(),
      expectedLedger(valid, ZONES),
      'the good samples, exactly',
    );
    const codes = await deadLetters(world, 2 * poison.length);
    assert.deepEqual(codes.slice(poison.length).sort(), poison.map((p) => p.code).sort());
    assert.equal(rating.exitCode, null, 'the rating process is still the one started');
    assert.equal(rating.signalCode, null);
  });
});
