import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Decimal } from '@metering/money';
import { parseTiers, periodBounds, priceGraduated } from '@metering/pricing';
import { waitFor } from '@metering/testing';
import { RatingWorld, encodeAll } from './rating-harness';
import { generateSamples } from './sample-stream';

// A provider assigns a tenant its plan on the 10th, effective from the 1st. Usage rated before
// that carried no charges; the real rating process, at its next batch after the catalog
// refresh, prices the tenant's month again from its buckets, so the bucket charges and the month
// position (what Grafana shows) equal the invoice's arithmetic: the graduated price of the
// month's total. Real Kafka and PostgreSQL.
const ZONES = { acme: 'UTC', globex: 'Asia/Kolkata' };
const NOV = Date.UTC(2026, 10, 1);
const GIB = new Decimal(2).pow(30);
const PLAN = {
  id: 'back-dated',
  version: 1,
  basis: 'usage' as const,
  cpu: [
    { upTo: '0.5', unitPrice: '0.040' },
    { upTo: null, unitPrice: '0.030' },
  ],
  memory: [
    { upTo: '2', unitPrice: '0.0050' },
    { upTo: null, unitPrice: '0.0040' },
  ],
};

let world: RatingWorld | undefined;
afterEach(async () => {
  await world?.tearDown();
  world = undefined;
});

const sum = (xs: readonly Decimal[]) => xs.reduce((a, b) => a.plus(b), new Decimal(0));
const price = (tiers: typeof PLAN.cpu, units: Decimal) =>
  priceGraduated(parseTiers('t', tiers), units).amount.toDecimalPlaces(20, Decimal.ROUND_HALF_UP);

/** Waits until acme's November buckets carry the graduated price of their total, then checks. */
async function assertNovemberRepriced(w: RatingWorld): Promise<void> {
  const bounds = periodBounds('2026-11', 'UTC');
  const expected = async () => {
    const rows = (await w.bucketRows()).filter(
      (r) => r.tenant === 'acme' && r.startMs >= bounds.startMs && r.startMs < bounds.endMs,
    );
    const cpu = price(PLAN.cpu, sum(rows.map((r) => r.cpu)));
    const memory = price(PLAN.memory, sum(rows.map((r) => r.memoryByteSeconds)).div(GIB));
    return { rows, cpu, memory, total: cpu.plus(memory) };
  };
  await waitFor(
    async () => {
      const e = await expected();
      return sum(e.rows.map((r) => r.amount)).equals(e.total) || undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200, description: 'acme’s November priced again' },
  );
  const e = await expected();
  assert.ok(e.total.greaterThan(0));
  assert.ok(e.rows.length > 1, `${e.rows.length} buckets: more than one page of 1`);
  const positions: { cpu: string; memory: string }[] = await w.ds.query(
    `SELECT cpu_amount::text AS cpu, memory_amount::text AS memory FROM tenant_month_position
     WHERE tenant_id = 'acme' AND period = '2026-11'`,
  );
  assert.equal(new Decimal(positions[0]!.cpu).toString(), e.cpu.toString(), 'CPU position');
  assert.equal(new Decimal(positions[0]!.memory).toString(), e.memory.toString(), 'memory');
  // The tenant without a plan stays free.
  const globex = (await w.bucketRows()).filter((r) => r.tenant === 'globex');
  assert.ok(globex.length > 0 && globex.every((r) => r.amount.isZero()));
}

/** Rates a first stream with no plan assigned: every bucket free. */
async function rateUnpriced(w: RatingWorld): Promise<ReturnType<RatingWorld['startRating']>> {
  await w.setUp(2, ZONES);
  const first = generateSamples({
    seed: 31,
    tenants: Object.keys(ZONES),
    resources: 4,
    samplesPerResource: 40,
    startMs: NOV + 2 * 86_400_000,
  });
  await w.produce(encodeAll(first), (i) => first[i]!.resource.id);
  // Pages of 1 bucket: a month priced again goes in several pages.
  const rating = w.startRating('reprice', {
    TENANT_CATALOG_TTL_MS: '200',
    REPRICE_PAGE_BUCKETS: '1',
  });
  await w.waitForCatchUp(120_000);
  const unpriced = await w.bucketRows();
  assert.ok(unpriced.length > 0);
  assert.ok(
    unpriced.every((r) => r.amount.isZero()),
    'no plan yet: no charges',
  );
  return rating;
}

/** A few more samples: the batch that rating reprices before. */
async function produceMore(w: RatingWorld): Promise<void> {
  const more = generateSamples({
    seed: 32,
    tenants: ['globex'],
    resources: 1,
    samplesPerResource: 5,
    startMs: NOV + 5 * 86_400_000,
  });
  await w.produce(encodeAll(more), (i) => more[i]!.resource.id);
  await w.waitForCatchUp(60_000);
}

describe('rating: a plan assigned with an effective date in the past (real broker and database)', () => {
  test('the tenant’s month is priced again: bucket charges and position equal the graduated price of its total', async () => {
    world = new RatingWorld();
    await rateUnpriced(world);
    await world.assignPlan(['acme'], PLAN, '2026-11-01T00:00:00Z');
    // The next batch after the catalog refresh prices the month again.
    await new Promise((r) => setTimeout(r, 500));
    await produceMore(world);
    await assertNovemberRepriced(world);
  });

  test('assigned while rating was stopped: the restarted process notices it and prices the month again', async () => {
    world = new RatingWorld();
    const rating = await rateUnpriced(world);
    await world.kill(rating, 'SIGTERM');
    await world.assignPlan(['acme'], PLAN, '2026-11-01T00:00:00Z');
    world.startRating('reprice-restarted', {
      TENANT_CATALOG_TTL_MS: '60000',
      REPRICE_PAGE_BUCKETS: '1',
    });
    await produceMore(world);
    await assertNovemberRepriced(world);
    const recorded: { n: string }[] = await world.ds.query(
      `SELECT count(*)::text AS n FROM rating_priced_assignment WHERE tenant_id = 'acme'`,
    );
    assert.equal(recorded[0]!.n, '1', 'what the buckets are priced with is recorded');
  });
});
