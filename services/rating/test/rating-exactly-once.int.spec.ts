import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeDlq, encode, type SampleEvent } from '@metering/contracts';
import { prng, waitFor } from '@metering/testing';
import { RatingWorld, encodeAll, expectedLedger } from './rating-harness';
import { generateSamples } from './sample-stream';

// The real rating process against real Kafka and PostgreSQL: the ledger must equal the domain's
// own rating of the stream exactly (decimal equality), whatever happens to the process.
const ZONES = { acme: 'UTC', globex: 'Asia/Kolkata', initech: 'America/New_York' };
const TENANTS = Object.keys(ZONES);
const START = Date.UTC(2026, 9, 31, 20, 0, 0); // crosses local midnight of 1 Nov in every zone

let world: RatingWorld | undefined;
afterEach(async () => {
  await world?.tearDown();
  world = undefined;
});

/** Valid samples plus redeliveries of earlier ones (same key), as at-least-once producers do. */
function withDuplicates(samples: SampleEvent[], seed: number): SampleEvent[] {
  const rnd = prng(seed);
  const out: SampleEvent[] = [];
  for (const s of samples) {
    out.push(s);
    if (rnd() < 0.05) out.push(out[Math.floor(rnd() * out.length)]!);
  }
  return out;
}

async function waitUntilProgress(w: RatingWorld, share: number): Promise<void> {
  await waitFor(
    async () => {
      const { done, total } = await w.progress();
      return Number(done) >= share * Number(total);
    },
    { timeoutMs: 120_000, intervalMs: 100, description: `${share * 100} % of the stream rated` },
  );
}

describe('rating: exact and exactly-once against the real broker and database', () => {
  test('a stream for several tenants gives the exact ledger; invalid messages go to the DLQ with reasons', async () => {
    world = new RatingWorld();
    await world.setUp(3, ZONES);
    const valid = withDuplicates(
      generateSamples({
        seed: 11,
        tenants: TENANTS,
        resources: 18,
        samplesPerResource: 60,
        startMs: START,
      }),
      1,
    );
    const invalid: { value: Buffer | string; code: string; key?: string }[] = [
      { value: 'not json at all', code: 'INVALID_JSON' },
      { value: JSON.stringify({ schema: 'metering.sample.v9' }), code: 'UNKNOWN_SCHEMA_VERSION' },
      {
        value: encode({ ...valid[0]!, memory: { usageBytes: -1, allocationBytes: null } }),
        code: 'SCHEMA_VIOLATION',
      },
      {
        value: encode({ ...valid[1]!, resource: { ...valid[1]!.resource, tenantId: '' } }),
        code: 'SCHEMA_VIOLATION',
      },
      {
        value: encode({
          ...valid[2]!,
          observedAt: new Date(Date.now() + 86_400_000).toISOString(),
        }),
        code: 'SAMPLE_IN_FUTURE',
        // Keyed as a sample must be (else it is a KEY_MISMATCH first).
        key: valid[2]!.resource.id,
      },
    ];
    // Interleave the invalid messages through the stream.
    const values: (Buffer | string)[] = [];
    const keys: string[] = [];
    const encoded = encodeAll(valid);
    encoded.forEach((v, i) => {
      values.push(v);
      keys.push(valid[i]!.resource.id);
      const bad = invalid[i / 150];
      if (Number.isInteger(i / 150) && bad) {
        values.push(bad.value);
        keys.push(bad.key ?? `bad-${i}`);
      }
    });
    assert.equal(values.length, valid.length + invalid.length);
    await world.produce(values, (i) => keys[i]!);

    world.startRating('single');
    await world.waitForCatchUp(120_000);

    assert.deepEqual(await world.ledger(), expectedLedger(valid, ZONES));

    // Every rejected message is on the DLQ with its reason and its original bytes.
    const consumer = world.kafka.consumer({ groupId: `${world.groupId}-dlq-reader` });
    const dead: { code: string; value: string | null }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: world.dlqTopic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        const decoded = decodeDlq(message.value);
        assert.ok(decoded.ok, 'DLQ records follow the metering.samples.dlq.v1 contract');
        if (decoded.ok)
          dead.push({ code: decoded.value.reason.code, value: decoded.value.original.value });
        return Promise.resolve();
      },
    });
    await waitFor(() => dead.length >= invalid.length, {
      timeoutMs: 30_000,
      description: 'the DLQ records',
    });
    await consumer.disconnect();
    assert.deepEqual(dead.map((d) => d.code).sort(), invalid.map((i) => i.code).sort());
    assert.ok(dead.some((d) => d.value === Buffer.from('not json at all').toString('base64')));
  });

  test('SIGKILL at random moments during a replay leaves the ledger identical to an uninterrupted run', async () => {
    world = new RatingWorld();
    await world.setUp(3, ZONES);
    const valid = withDuplicates(
      generateSamples({
        seed: 23,
        tenants: TENANTS,
        resources: 30,
        samplesPerResource: 150,
        startMs: START,
      }),
      2,
    );
    await world.produce(encodeAll(valid), (i) => valid[i]!.resource.id);

    let rating = world.startRating('kill-0');
    for (const [n, share] of [0.15, 0.45, 0.75].entries()) {
      await waitUntilProgress(world, share);
      await world.kill(rating, 'SIGKILL');
      rating = world.startRating(`kill-${n + 1}`);
    }
    await world.waitForCatchUp(180_000);
    assert.deepEqual(await world.ledger(), expectedLedger(valid, ZONES));
  });

  test('two rating processes in one group, one killed and restarted mid-run (a rebalance): still exact', async () => {
    world = new RatingWorld();
    await world.setUp(4, ZONES);
    const valid = withDuplicates(
      generateSamples({
        seed: 37,
        tenants: TENANTS,
        resources: 32,
        samplesPerResource: 120,
        startMs: START,
      }),
      3,
    );
    await world.produce(encodeAll(valid), (i) => valid[i]!.resource.id);

    const a = world.startRating('member-a');
    world.startRating('member-b');
    await waitUntilProgress(world, 0.3);
    await world.kill(a, 'SIGKILL');
    await waitUntilProgress(world, 0.6);
    world.startRating('member-a2');
    await world.waitForCatchUp(180_000);
    assert.deepEqual(await world.ledger(), expectedLedger(valid, ZONES));
  });
});
