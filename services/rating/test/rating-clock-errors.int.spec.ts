import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type SampleEvent } from '@metering/contracts';
import { RatingWorld, encodeAll, expectedLedger } from './rating-harness';
import { generateSamples } from './sample-stream';

// A collector whose clock was reset reports its instances as started on 1970-01-01. Rated
// whole, one such sample cuts 56 years into ~500,000 hour buckets: seconds of CPU and more heap
// than rating's budget, so the batch would fail, be retried and fail again (a poison pill). The
// real process rates only its last 35 days (MAX_INTERVAL_MS) and goes on with the stream.
const ZONES = { acme: 'UTC', globex: 'Asia/Kolkata' };
const START = Date.UTC(2026, 10, 2, 8, 0, 0);
const DAY = 86_400_000;

let world: RatingWorld | undefined;
afterEach(async () => {
  await world?.tearDown();
  world = undefined;
});

describe('rating: samples from a clock reset to 1970 (real broker and database)', () => {
  test('only the last 35 days of a 1970 start are rated; the rest of the stream is exact', async () => {
    world = new RatingWorld();
    await world.setUp(2, ZONES);
    const normal = generateSamples({
      seed: 21,
      tenants: Object.keys(ZONES),
      resources: 4,
      samplesPerResource: 30,
      startMs: START,
    });
    const reset: SampleEvent[] = generateSamples({
      seed: 22,
      tenants: ['acme'],
      resources: 1,
      samplesPerResource: 30,
      startMs: START,
    }).map((s) => ({ ...s, resource: { ...s.resource, startedAt: '1970-01-01T00:00:00.000Z' } }));
    const samples = [...normal, ...reset].sort(
      (a, b) => Date.parse(a.observedAt) - Date.parse(b.observedAt),
    );
    await world.produce(encodeAll(samples), (i) => samples[i]!.resource.id);

    world.startRating('clock');
    await world.waitForCatchUp(120_000);

    assert.deepEqual(await world.ledger(), expectedLedger(samples, ZONES), 'the ledger is exact');
    const resourceId = reset[0]!.resource.id;
    const rows = (await world.bucketRows()).filter((r) => r.resource === resourceId);
    const firstObserved = Math.min(...reset.map((s) => Date.parse(s.observedAt)));
    const earliest = Math.min(...rows.map((r) => r.startMs));
    assert.ok(
      earliest >= firstObserved - 35 * DAY - 3_600_000,
      `no bucket before the last 35 days (earliest ${new Date(earliest).toISOString()})`,
    );
    // Every hour of those 35 days has its share (a gap: CPU, no invented memory), no more.
    assert.ok(rows.length >= 35 * 24 && rows.length <= 35 * 24 + 30, `${rows.length} buckets`);
  });
});
