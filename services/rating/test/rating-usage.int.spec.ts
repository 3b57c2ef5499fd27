import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type UsageEvent } from '@metering/contracts';
import { Decimal } from '@metering/money';
import { parseTiers, periodBounds, priceGraduated } from '@metering/pricing';
import { waitFor } from '@metering/testing';
import { RatingWorld, encodeAll, expectedLedger } from './rating-harness';
import { generateSamples } from './sample-stream';

// The real rating process prices what it rates and publishes billing.usage.v1 events per instance
// and 5-minute window (per month part) through the ledger's outbox: the events carry exactly the
// ledger's quantities, and a tiered plan's month costs exactly the graduated price of the month's
// total, even when the process is killed between a commit and Kafka's acknowledgement.
const ZONES = { acme: 'UTC', globex: 'Asia/Kolkata', initech: 'America/New_York' };
const TENANTS = Object.keys(ZONES);
// Each tenant's stream starts 50 minutes before its local midnight of 1 November.
const MIDNIGHTS = {
  acme: Date.UTC(2026, 10, 1, 0, 0),
  globex: Date.UTC(2026, 9, 31, 18, 30),
  initech: Date.UTC(2026, 10, 1, 4, 0),
};
const GIB = new Decimal(2).pow(30);

const TIERED = {
  id: 'tiered',
  version: 1,
  basis: 'usage' as const,
  // Bounds low enough that every month of the stream crosses them.
  cpu: [
    { upTo: '0.5', unitPrice: '0.040' },
    { upTo: '2', unitPrice: '0.035' },
    { upTo: null, unitPrice: '0.030' },
  ],
  memory: [
    { upTo: '3', unitPrice: '0.0050' },
    { upTo: null, unitPrice: '0.0036' },
  ],
};
const MEMORY_ONLY_MAX = {
  id: 'memory-max',
  version: 2,
  basis: 'max' as const,
  cpu: null,
  memory: [
    { upTo: '1', unitPrice: '0.0070' },
    { upTo: null, unitPrice: '0.0040' },
  ],
};

let world: RatingWorld | undefined;
afterEach(async () => {
  await world?.tearDown();
  world = undefined;
});

const sum = (xs: readonly Decimal[]) => xs.reduce((a, b) => a.plus(b), new Decimal(0));
const price = (tiers: typeof TIERED.cpu | null, seconds: Decimal) =>
  tiers === null
    ? new Decimal(0)
    : priceGraduated(parseTiers('t', tiers), seconds).amount.toDecimalPlaces(
        20,
        Decimal.ROUND_HALF_UP,
      );

/** Consumers upsert by usageId; the last publication is the committed one. */
function dedupe(events: readonly UsageEvent[]): UsageEvent[] {
  return [...new Map(events.map((e) => [e.usageId, e])).values()];
}

describe('rating: billing.usage.v1 events and charges against the real broker and database', () => {
  test('events sum to the ledger exactly; a tiered month costs the graduated price of its total, even after a SIGKILL', async () => {
    world = new RatingWorld();
    await world.setUp(3, ZONES);
    await world.assignPlan(['acme'], TIERED, '2026-01-01T00:00:00Z');
    await world.assignPlan(['globex'], MEMORY_ONLY_MAX, '2026-01-01T00:00:00Z');
    // initech has no plan.
    const samples = TENANTS.flatMap((tenant, i) =>
      generateSamples({
        seed: 5 + i,
        tenants: [tenant],
        resources: 6,
        samplesPerResource: 200,
        startMs: MIDNIGHTS[tenant as keyof typeof MIDNIGHTS] - 50 * 60_000,
      }),
    ).sort((a, b) => Date.parse(a.observedAt) - Date.parse(b.observedAt));
    await world.produce(encodeAll(samples), (i) => samples[i]!.resource.id);

    // A kill mid-run: batches rated but not committed are rated and published again.
    const first = world.startRating('usage-a');
    await waitFor(
      async () => {
        const { done, total } = await world!.progress();
        return Number(done) >= 0.4 * Number(total);
      },
      { timeoutMs: 120_000, intervalMs: 50, description: '40 % rated' },
    );
    await world.kill(first, 'SIGKILL');
    world.startRating('usage-b');
    await world.waitForCatchUp(120_000);
    await world.waitForUsagePublished(60_000);

    assert.deepEqual(await world.ledger(), expectedLedger(samples, ZONES), 'the ledger is exact');
    // Created by rating with its partitions; the producer compresses (the topic keeps what it gets).
    assert.deepEqual(await world.usageTopicSettings(), { partitions: 3, compression: 'producer' });
    const raw = await world.usageEvents();
    const events = dedupe(raw);
    assert.ok(raw.length >= events.length);
    // ~10 s samples in 5-minute windows: far fewer events than samples.
    assert.ok(
      events.length * 5 < samples.length,
      `${events.length} events for ${samples.length} samples`,
    );
    // Windows never overlap within an instance: no interval is counted twice.
    const byInstance = new Map<string, UsageEvent[]>();
    for (const e of events) {
      const k = `${e.resource.id}/${e.resource.instanceId}`;
      byInstance.set(k, [...(byInstance.get(k) ?? []), e]);
    }
    for (const [k, list] of byInstance) {
      list.sort((a, b) => Date.parse(a.interval.start) - Date.parse(b.interval.start));
      for (let i = 1; i < list.length; i++)
        assert.ok(
          Date.parse(list[i]!.interval.start) >= Date.parse(list[i - 1]!.interval.end),
          `${k}: ${list[i - 1]!.interval.end} overlaps ${list[i]!.interval.start}`,
        );
    }
    const rows = await world.bucketRows();

    for (const tenant of TENANTS) {
      const mine = events.filter((e) => e.tenantId === tenant);
      const ledger = rows.filter((r) => r.tenant === tenant);
      assert.ok(mine.length > 0);
      // Quantities: exactly the ledger's usage.
      assert.equal(
        sum(mine.map((e) => new Decimal(e.cpuCoreSeconds))).toString(),
        sum(ledger.map((r) => r.cpu)).toString(),
        `${tenant} CPU`,
      );
      assert.equal(
        sum(mine.map((e) => new Decimal(e.memoryGibSeconds))).toString(),
        sum(ledger.map((r) => r.memoryByteSeconds))
          .div(GIB)
          .toString(),
        `${tenant} memory`,
      );
      for (const e of mine)
        assert.equal(e.amounts.total, new Decimal(e.amounts.cpu).plus(e.amounts.memory).toString());

      const periods = [...new Set(mine.map((e) => String(e['period'])))].sort();
      assert.deepEqual(periods, ['2026-10', '2026-11'], `${tenant} crosses into November`);
      for (const period of periods) {
        const bounds = periodBounds(period, ZONES[tenant as keyof typeof ZONES]);
        const month = ledger.filter((r) => r.startMs >= bounds.startMs && r.startMs < bounds.endMs);
        const monthEvents = mine.filter((e) => e['period'] === period);
        for (const e of monthEvents) {
          const start = Date.parse(e.interval.start);
          assert.ok(start >= bounds.startMs && Date.parse(e.interval.end) <= bounds.endMs);
        }
        const cpuAmount = sum(monthEvents.map((e) => new Decimal(e.amounts.cpu)));
        const memoryAmount = sum(monthEvents.map((e) => new Decimal(e.amounts.memory)));
        let expectedCpu = new Decimal(0);
        let expectedMemory = new Decimal(0);
        if (tenant === 'acme') {
          expectedCpu = price(TIERED.cpu, sum(month.map((r) => r.cpu)));
          expectedMemory = price(
            TIERED.memory,
            sum(month.map((r) => r.memoryByteSeconds)).div(GIB),
          );
        } else if (tenant === 'globex') {
          expectedMemory = price(
            MEMORY_ONLY_MAX.memory,
            sum(month.map((r) => r.memoryMax)).div(GIB),
          );
        }
        assert.equal(
          cpuAmount.toString(),
          expectedCpu.toString(),
          `${tenant} ${period} CPU charges`,
        );
        assert.equal(
          memoryAmount.toString(),
          expectedMemory.toString(),
          `${tenant} ${period} memory charges`,
        );
        // The buckets' charges and the month position say the same.
        assert.equal(
          sum(month.map((r) => r.amount)).toString(),
          cpuAmount.plus(memoryAmount).toString(),
          `${tenant} ${period} bucket charges`,
        );
        const positions: { cpu: string; memory: string }[] = await world.ds.query(
          `SELECT cpu_amount::text AS cpu, memory_amount::text AS memory FROM tenant_month_position
           WHERE tenant_id = $1 AND period = $2`,
          [tenant, period],
        );
        const position = positions[0];
        if (tenant === 'initech') assert.equal(position, undefined, 'no plan, no position');
        else {
          assert.equal(new Decimal(position!.cpu).toString(), cpuAmount.toString());
          assert.equal(new Decimal(position!.memory).toString(), memoryAmount.toString());
        }
      }
      if (tenant === 'acme')
        assert.ok(mine.every((e) => e.planId === 'tiered' && e.amounts.currency === 'EUR'));
      if (tenant === 'initech') {
        assert.ok(mine.every((e) => e.amounts.total === '0' && e['planAssigned'] === false));
      }
    }
  });
});
