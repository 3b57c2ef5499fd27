import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { type SampleEvent } from '@metering/contracts';
import { waitFor } from '@metering/testing';
import { RatingWorld, encodeAll, expectedLedger } from './rating-harness';
import { generateSamples } from './sample-stream';

// The minimum batch window (RATING_BATCH_WINDOW_MS, docs/adr/0014-rating-scale-out.md section 6)
// on the real broker and ledger: a caught-up rating fed a steady trickle writes fewer ledger
// rows per second with a window than without, the ledger exact either way; and a SIGKILL while
// messages are held loses and doubles nothing (their offsets were never stored).
const ZONES = { acme: 'UTC', globex: 'Asia/Kolkata' };
const TENANTS = Object.keys(ZONES);
const START = Date.UTC(2026, 9, 31, 22, 0, 0);

let world: RatingWorld | undefined;
afterEach(async () => {
  await world?.tearDown();
  world = undefined;
});

/** Publishes the samples one at a time, `gapMs` apart: a caught-up rating's steady state. */
async function trickle(w: RatingWorld, samples: readonly SampleEvent[], gapMs: number) {
  const producer = w.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const values = encodeAll(samples);
  for (let i = 0; i < samples.length; i++) {
    await producer.send({
      topic: w.topic,
      messages: [{ key: samples[i]!.resource.id, value: values[i]! }],
    });
    await sleep(gapMs);
  }
  await producer.disconnect();
}

/**
 * Rows rating inserted, updated and deleted in the world's schema (every table but the ones the
 * spec writes), as PostgreSQL's statistics count them: complete once rating's connections closed
 * (a backend reports its counts when it exits).
 */
async function rowsWritten(w: RatingWorld): Promise<number> {
  const rows = await w.ds.query<{ n: string }[]>(
    `SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::text AS n
     FROM pg_stat_user_tables WHERE schemaname = $1 AND relname NOT IN ('tenant', 'migrations')`,
    [w.schema],
  );
  return Number(rows[0]?.n ?? 0);
}

async function storedTotal(w: RatingWorld): Promise<bigint> {
  let n = 0n;
  for (const offset of (await w.storedOffsets()).values()) n += BigInt(offset);
  return n;
}

async function endTotal(w: RatingWorld): Promise<bigint> {
  let n = 0n;
  for (const offset of (await w.endOffsets()).values()) n += BigInt(offset);
  return n;
}

/** One run: rating with `windowMs`, a trickle, caught up, stopped; rows written per second. */
async function trickleRun(windowMs: number, samples: SampleEvent[]): Promise<number> {
  world = new RatingWorld();
  await world.setUp(2, ZONES);
  const rating = world.startRating(`trickle-${windowMs}`, {
    RATING_BATCH_WINDOW_MS: String(windowMs),
  });
  // Rating is up and its partitions assigned before the trickle starts: caught up from the
  // first sample on.
  await world.produce(encodeAll(samples.slice(0, 1)), () => samples[0]!.resource.id);
  await world.waitForCatchUp(120_000);
  const started = performance.now();
  await trickle(world, samples.slice(1), 40);
  await world.waitForCatchUp(120_000);
  const seconds = (performance.now() - started) / 1000;
  await world.kill(rating, 'SIGTERM');
  assert.deepEqual(await world.ledger(), expectedLedger(samples, ZONES), 'the ledger is exact');
  const rows = await waitForStable(() => rowsWritten(world!));
  await world.tearDown();
  world = undefined;
  return rows / seconds;
}

/** Statistics arrive as backends exit: read until two reads a second apart agree. */
async function waitForStable(read: () => Promise<number>): Promise<number> {
  let last = await read();
  for (let i = 0; i < 20; i++) {
    await sleep(1_000);
    const now = await read();
    if (now === last && now > 0) return now;
    last = now;
  }
  return last;
}

describe('rating: the minimum batch window on the real broker and ledger', () => {
  test('a steady trickle: a 3 s window writes fewer ledger rows a second, the ledger exact', async (t) => {
    // 8 resources, 25 samples each, 10 s of sample time apart, published 40 ms apart: every
    // resource has a few samples in each 3-s window.
    const samples = generateSamples({
      seed: 41,
      tenants: TENANTS,
      resources: 8,
      samplesPerResource: 25,
      startMs: START,
    });
    const without = await trickleRun(0, samples);
    const windowed = await trickleRun(3_000, samples);
    t.diagnostic(
      `ledger rows/s: ${without.toFixed(1)} without a window, ${windowed.toFixed(1)} with 3 s ` +
        `(×${(windowed / without).toFixed(2)})`,
    );
    assert.ok(without > 0 && windowed > 0);
    assert.ok(
      windowed < without / 2,
      `rows/s ${windowed.toFixed(1)} with the window, ${without.toFixed(1)} without`,
    );
  });

  test('SIGKILL while messages are held loses and doubles nothing; SIGTERM rates them', async () => {
    world = new RatingWorld();
    await world.setUp(2, ZONES);
    const samples = generateSamples({
      seed: 43,
      tenants: TENANTS,
      resources: 6,
      samplesPerResource: 30,
      startMs: START,
    });
    const [a, b, c, d] = [0, 45, 90, 135, 180].flatMap((from, i, all) =>
      i + 1 < all.length ? [samples.slice(from, all[i + 1])] : [],
    ) as [SampleEvent[], SampleEvent[], SampleEvent[], SampleEvent[]];
    const env = { RATING_BATCH_WINDOW_MS: '8000' };
    const first = world.startRating('held-0', env);
    await trickle(world, a, 20);
    await world.waitForCatchUp(120_000); // A rated: its window ended
    const afterA = await storedTotal(world);

    await trickle(world, b, 20);
    await sleep(500);
    // B was fetched and is held: its offsets are not stored yet.
    assert.equal(await storedTotal(world), afterA, 'B held, not committed');
    await world.kill(first, 'SIGKILL');

    const second = world.startRating('held-1', env);
    await trickle(world, c, 20);
    await world.waitForCatchUp(120_000);
    assert.deepEqual(
      await world.ledger(),
      expectedLedger([...a, ...b, ...c], ZONES),
      'B read again from the stored position: neither lost nor counted twice',
    );

    // SIGTERM while D is held: the stop order rates it before the ledger closes.
    await trickle(world, d, 20);
    await sleep(500);
    const held = await storedTotal(world);
    assert.ok(held < (await endTotal(world)), 'D held when SIGTERM comes');
    await world.kill(second, 'SIGTERM');
    await waitFor(async () => (await storedTotal(world!)) === (await endTotal(world!)), {
      timeoutMs: 5_000,
      description: 'D committed by the stop order',
    });
    assert.deepEqual(await world.ledger(), expectedLedger(samples, ZONES));
  });
});
