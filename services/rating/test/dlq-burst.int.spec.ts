import { createHash } from 'node:crypto';
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeDlq, type DecodeErrorCode } from '@metering/contracts';
import { prng } from '@metering/testing';
import { RatingWorld, encodeAll, expectedLedger } from './rating-harness';
import { readTopic } from './topic-reader';
import { generateSamples } from './sample-stream';

// Issue 13, "a burst of invalid messages crash-loops the group": the dead letters of one batch
// went out in one unbounded send, past the broker's message.max.bytes; the error is fatal, the
// process exited, restarted at the same offset and exited again. Through the real rating process
// against real Kafka and PostgreSQL: 5,000 invalid messages and one near the broker's size limit
// on one partition, fetched at once, then valid samples.
const ZONES = { acme: 'UTC', globex: 'Asia/Kolkata' };
const START = Date.UTC(2026, 10, 2, 8, 0, 0);
const BROKER_MAX_MESSAGE_BYTES = 1_048_588; // infra/local/kafka.sh leaves Kafka's default

let world: RatingWorld | undefined;
afterEach(async () => {
  await world?.tearDown();
  world = undefined;
});

interface Invalid {
  value: Buffer;
  code: DecodeErrorCode;
}

/** Invalid samples of every shape, 250-650 bytes: the burst is ~2 MB of originals. */
function invalidSample(i: number, rnd: () => number): Invalid {
  const pad = 'z'.repeat(200 + Math.floor(rnd() * 400));
  switch (i % 4) {
    case 0:
      return {
        value: Buffer.from(`{"schema":"metering.sample.v1","host":"${pad}`),
        code: 'INVALID_JSON',
      };
    case 1: {
      const bytes = Buffer.alloc(250 + (i % 300));
      for (let j = 0; j < bytes.length; j++) bytes[j] = (0xff - j * 31 - i) & 0xff;
      bytes[0] = 0xff; // never valid UTF-8
      return { value: bytes, code: 'INVALID_JSON' };
    }
    case 2:
      return {
        value: Buffer.from(
          JSON.stringify({ schema: 'metering.sample.v9', host: `\u0000😀${pad}` }),
        ),
        code: 'UNKNOWN_SCHEMA_VERSION',
      };
    default:
      return {
        value: Buffer.from(
          JSON.stringify({
            schema: 'metering.sample.v1',
            sampleId: `𝄞\u0000${pad}`,
            memory: { usageBytes: -1 },
          }),
        ),
        code: 'SCHEMA_VIOLATION',
      };
  }
}

test('5,000 invalid messages and one near the size limit in one fetch: rating keeps running, the partition moves, all are dead-lettered', async () => {
  world = new RatingWorld();
  await world.setUp(1, ZONES);
  const rnd = prng(1313);

  const invalid = Array.from({ length: 5_000 }, (_, i) => invalidSample(i, rnd));
  await world.produce(
    invalid.map((m) => m.value),
    (i) => `bad-${i % 50}`,
  );
  // Near the broker's limit: as base64 inside a JSON DLQ record it would be ~1.4 MB.
  const huge = Buffer.concat([
    Buffer.from('{"schema":"metering.sample.v1","sampleId":"'),
    Buffer.alloc(BROKER_MAX_MESSAGE_BYTES - 8_000, 0x61),
    Buffer.from('"}'),
  ]);
  const producer = world.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic: world.topic, messages: [{ key: 'huge-1', value: huge }] });
  await producer.disconnect();

  const valid = generateSamples({
    seed: 31,
    tenants: Object.keys(ZONES),
    resources: 12,
    samplesPerResource: 40,
    startMs: START,
  });
  await world.produce(encodeAll(valid), (i) => valid[i]!.resource.id);
  const ends = await world.endOffsets();
  assert.equal(ends.get(0), String(invalid.length + 1 + valid.length));

  // One fetch holds the whole burst (the harness's default is 64 KiB for many small batches).
  const rating = world.startRating('burst', { MAX_BYTES_PER_PARTITION: String(16 * 1024 * 1024) });
  const output: string[] = [];
  rating.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
  const pid = rating.pid;
  // Before the fix the process exited at the first batch: fail then, not at the timeout.
  const exited = new Promise<never>((_, reject) =>
    rating.once('exit', (code, signal) => reject(new Error(`rating exited: ${code ?? signal}`))),
  );
  exited.catch(() => undefined); // tearDown's SIGKILL must not be an unhandled rejection
  await Promise.race([world.waitForCatchUp(180_000), exited]);

  // Still the same process, never exited, and its consumer never crashed or restarted.
  assert.equal(rating.exitCode, null, 'rating did not exit');
  assert.equal(rating.signalCode, null);
  assert.equal(rating.pid, pid);
  const log = output.join('');
  assert.match(log, /"msg":"dead letters bounded"/);
  assert.match(log, /"msg":"rating started"/);
  assert.doesNotMatch(log, /consumer crashed|Restarting the consumer|exiting to be restarted/);
  assert.doesNotMatch(log, /"msg":"produce failed"/);

  // The partition's stored offset is the end of the topic.
  assert.deepEqual(await world.storedOffsets(), ends);

  // The DLQ holds every invalid message once, with its reason, the huge one cut to a prefix.
  const records = await readTopic(world.kafka, world.dlqTopic);
  assert.equal(records.length, invalid.length + 1);
  const seen = new Set<string>();
  for (const record of records) {
    assert.ok(record.value !== null && record.value.length < BROKER_MAX_MESSAGE_BYTES);
    const decoded = decodeDlq(record.value);
    assert.ok(decoded.ok, JSON.stringify(decoded));
    const { original, reason } = decoded.value;
    assert.equal(original.topic, world.topic);
    assert.equal(seen.has(original.offset), false, `offset ${original.offset} once`);
    seen.add(original.offset);
    const offset = Number(original.offset);
    const sent = offset < invalid.length ? invalid[offset]!.value : huge;
    assert.equal(original.valueBytes, sent.length);
    assert.equal(original.valueSha256, createHash('sha256').update(sent).digest('hex'));
    const kept = Buffer.from(original.value!, 'base64');
    assert.ok(sent.subarray(0, kept.length).equals(kept), 'a prefix of the original');
    assert.equal(original.valueTruncated, offset === invalid.length, 'only the huge one is cut');
    if (offset < invalid.length) {
      assert.equal(reason.code, invalid[offset]!.code, `reason of offset ${offset}`);
      assert.ok(kept.equals(sent));
    } else {
      assert.equal(reason.code, 'SCHEMA_VIOLATION');
      assert.ok(kept.length > 500_000, `${kept.length} bytes kept`);
    }
    assert.ok(Buffer.byteLength(reason.message) <= 2048);
  }
  assert.deepEqual(
    [...seen].map(Number).sort((a, b) => a - b),
    Array.from({ length: invalid.length + 1 }, (_, i) => i),
  );

  // The valid samples behind the burst are rated exactly.
  assert.deepEqual(await world.ledger(), expectedLedger(valid, ZONES));
});
