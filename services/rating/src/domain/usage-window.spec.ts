import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type InstanceState, instanceKey } from './metered-sample';
import { type PlanRef, type PricedUsage } from './price-batch';
import { windowStart, windowUsages } from './usage-window';

const FIVE_MIN = 300_000;
const T0 = Date.UTC(2026, 10, 3, 10, 0, 0);
const STD: PlanRef = { id: 'std', version: 1 };

function usage(fromMs: number, toMs: number, over: Partial<PricedUsage> = {}): PricedUsage {
  return {
    tenantId: 'acme',
    resourceKind: 'container',
    resourceId: 'c1',
    instanceId: 'i1',
    fromMs,
    toMs,
    period: '2026-11',
    plan: STD,
    currency: 'EUR',
    basis: 'usage',
    cpuUsage: 10n,
    memoryUsage: 20n,
    cpuPriced: 10n,
    memoryPriced: 20n,
    cpuAmount: 3n,
    memoryAmount: 4n,
    gap: false,
    ...over,
  };
}

function state(u: PricedUsage, final: boolean): InstanceState {
  return {
    tenantId: u.tenantId,
    resourceKind: u.resourceKind,
    resourceId: u.resourceId,
    instanceId: u.instanceId,
    startedAtMs: 0,
    lastObservedAtMs: u.toMs,
    lastCpuUsageNs: 0n,
    lastMemoryUsageBytes: 0n,
    lastCpuAllocationCores: null,
    lastMemoryAllocationBytes: null,
    final,
  };
}

/** Samples every `stepMs` from `startMs`: one usage per interval. */
function every(stepMs: number, count: number, startMs = T0, over: Partial<PricedUsage> = {}) {
  return Array.from({ length: count }, (_, i) =>
    usage(startMs + i * stepMs, startMs + (i + 1) * stepMs, over),
  );
}

const none = new Map<string, PricedUsage>();
const running = new Map<string, InstanceState>();

describe('windowUsages', () => {
  test('30 intervals of 10 s in a 5-minute window are one event with their sums', () => {
    const { closed, open } = windowUsages(every(10_000, 30), none, running, { windowMs: FIVE_MIN });
    assert.equal(closed.length, 1);
    assert.deepEqual(closed[0], {
      ...usage(T0, T0 + FIVE_MIN),
      cpuUsage: 300n,
      memoryUsage: 600n,
      cpuPriced: 300n,
      memoryPriced: 600n,
      cpuAmount: 90n,
      memoryAmount: 120n,
    });
    assert.deepEqual([...open.values()], [null]);
  });

  test('an unfinished window stays open and the next batch continues it', () => {
    const first = windowUsages(every(10_000, 12), none, running, { windowMs: FIVE_MIN });
    assert.deepEqual(first.closed, []);
    const stored = new Map([[instanceKey(usage(0, 1)), first.open.get(instanceKey(usage(0, 1)))!]]);
    const second = windowUsages(every(10_000, 18, T0 + 120_000), stored, running, {
      windowMs: FIVE_MIN,
    });
    assert.equal(second.closed.length, 1);
    assert.equal(second.closed[0]!.fromMs, T0);
    assert.equal(second.closed[0]!.toMs, T0 + FIVE_MIN);
    assert.equal(second.closed[0]!.cpuUsage, 300n);
  });

  test('the interval that crosses the window edge ends the window; the next starts a new one', () => {
    // 7 s steps from T0: the 43rd interval starts at 294 s and ends past 300 s.
    const { closed, open } = windowUsages(every(7_000, 45), none, running, { windowMs: FIVE_MIN });
    assert.equal(closed.length, 1);
    assert.equal(closed[0]!.toMs, T0 + 43 * 7_000);
    const rest = open.get(instanceKey(usage(0, 1)))!;
    assert.equal(rest.fromMs, T0 + 43 * 7_000);
    assert.equal(rest.cpuUsage, 20n);
  });

  test('a gap, a plan change, a new month and a final sample each end the window', () => {
    const u = [
      ...every(10_000, 3),
      usage(T0 + 30_000, T0 + 60_000, { gap: true }),
      usage(T0 + 60_000, T0 + 70_000),
      usage(T0 + 70_000, T0 + 80_000, { plan: { id: 'std', version: 2 } }),
      usage(T0 + 80_000, T0 + 90_000, { plan: { id: 'std', version: 2 }, period: '2026-12' }),
      usage(T0 + 90_000, T0 + 100_000, { plan: { id: 'std', version: 2 }, period: '2026-12' }),
    ];
    const { closed, open } = windowUsages(
      u,
      none,
      new Map([[instanceKey(u[0]!), state(u.at(-1)!, true)]]),
      { windowMs: FIVE_MIN },
    );
    assert.deepEqual(
      closed.map((c) => [c.fromMs - T0, c.toMs - T0, c.gap]),
      [
        [0, 30_000, false],
        [30_000, 60_000, true],
        [60_000, 70_000, false],
        [70_000, 80_000, false],
        [80_000, 100_000, false],
      ],
    );
    assert.equal(open.get(instanceKey(u[0]!)), null);
  });

  test('windows of 0 keep one event per rated interval', () => {
    const u = every(10_000, 5);
    assert.deepEqual(windowUsages(u, none, running, { windowMs: 0 }).closed, u);
  });

  test('instances are windowed apart', () => {
    const a = every(10_000, 6);
    const b = every(10_000, 6, T0, { resourceId: 'c2', instanceId: 'i2' });
    const { closed, open } = windowUsages(
      [...a, ...b].sort((x, y) => x.fromMs - y.fromMs),
      none,
      running,
      { windowMs: 60_000 },
    );
    assert.deepEqual(
      closed.map((c) => [c.resourceId, c.cpuUsage]),
      [
        ['c1', 60n],
        ['c2', 60n],
      ],
    );
    assert.equal(open.size, 2);
  });
});

// A stream of several instances' usage: consecutive intervals of 1-90 s, now and then a gap, a
// plan change, a month edge; some instances end with their final sample.
const stream = fc
  .array(
    fc.record({
      steps: fc.array(
        fc.record({
          ms: fc.integer({ min: 1, max: 90_000 }),
          gap: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
          version: fc.integer({ min: 1, max: 2 }),
          cpu: fc.bigInt({ min: 0n, max: 10n ** 12n }),
          amount: fc.bigInt({ min: 0n, max: 10n ** 15n }),
        }),
        { minLength: 1, maxLength: 60 },
      ),
      final: fc.boolean(),
      offsetMs: fc.integer({ min: 0, max: 600_000 }),
    }),
    { minLength: 1, maxLength: 5 },
  )
  .map((instances) => {
    const usages: PricedUsage[] = [];
    const finals = new Map<string, PricedUsage>();
    instances.forEach((inst, n) => {
      let t = T0 + inst.offsetMs;
      let last: PricedUsage | undefined;
      for (const s of inst.steps) {
        last = usage(t, t + s.ms, {
          resourceId: `r${n}`,
          instanceId: `i${n}`,
          gap: s.gap,
          plan: { id: 'std', version: s.version },
          period: t >= T0 + 1_800_000 ? '2026-12' : '2026-11',
          cpuUsage: s.cpu,
          cpuAmount: s.amount,
        });
        usages.push(last);
        t += s.ms;
      }
      if (inst.final && last !== undefined) finals.set(instanceKey(last), last);
    });
    // Interleaved across instances, each instance in its own order (as rated).
    usages.sort((a, b) => a.toMs - b.toMs);
    return { usages, finals };
  });

type Stream = { usages: PricedUsage[]; finals: Map<string, PricedUsage> };

/** Windows the stream cut into batches at `cuts`, carrying the open windows like the ledger. */
function inBatches({ usages, finals }: Stream, cuts: number[], windowMs: number) {
  const stored = new Map<string, PricedUsage>();
  const closed: PricedUsage[] = [];
  const edges = [...new Set([0, ...cuts.map((c) => c % (usages.length + 1)), usages.length])].sort(
    (a, b) => a - b,
  );
  for (let i = 0; i + 1 < edges.length; i++) {
    const batch = usages.slice(edges[i], edges[i + 1]);
    // The state of each instance after the batch: final if its final usage is in this batch.
    const states = new Map<string, InstanceState>();
    for (const u of batch) states.set(instanceKey(u), state(u, finals.get(instanceKey(u)) === u));
    const w = windowUsages(batch, stored, states, { windowMs });
    closed.push(...w.closed);
    for (const [k, v] of w.open) {
      if (v === null) stored.delete(k);
      else stored.set(k, v);
    }
  }
  const byStart = (a: PricedUsage, b: PricedUsage) =>
    a.resourceId === b.resourceId ? a.fromMs - b.fromMs : a.resourceId < b.resourceId ? -1 : 1;
  return { closed: closed.sort(byStart), open: [...stored.values()].sort(byStart) };
}

const total = (us: readonly PricedUsage[], f: (u: PricedUsage) => bigint) =>
  us.reduce((s, u) => s + f(u), 0n);

describe('windowUsages properties', () => {
  test('however the stream is cut into batches, the same windows close with the same contents', () => {
    fc.assert(
      fc.property(
        stream,
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.constantFrom(60_000, FIVE_MIN, 3_600_000),
        (s, cuts, windowMs) => {
          assert.deepEqual(inBatches(s, cuts, windowMs), inBatches(s, [], windowMs));
        },
      ),
      { numRuns: 300 },
    );
  });

  test('published plus open usage is exactly the rated usage; a window never outgrows its edge by more than one interval', () => {
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 6 }), (s, cuts) => {
        const { closed, open } = inBatches(s, cuts, FIVE_MIN);
        const all = [...closed, ...open];
        for (const f of [
          (u: PricedUsage) => u.cpuUsage,
          (u: PricedUsage) => u.cpuAmount,
          (u: PricedUsage) => u.memoryPriced,
          (u: PricedUsage) => BigInt(u.toMs - u.fromMs),
        ])
          assert.equal(total(all, f), total(s.usages, f));
        for (const w of all) {
          if (w.gap) continue;
          const edge = w.fromMs - (w.fromMs % FIVE_MIN) + FIVE_MIN;
          assert.ok(w.toMs - edge < 90_000, 'ends within one interval of its window edge');
        }
        // Instances that ended with their final sample leave nothing open.
        for (const key of s.finals.keys())
          assert.ok(!open.some((w) => instanceKey(w) === key), 'a final sample closes the window');
      }),
      { numRuns: 300 },
    );
  });
});

describe('windowStart', () => {
  test('is the aligned start holding the time: exact over every millisecond a Date holds', () => {
    // 8.64e15 ms: the Date range, either side of 1970; windows from 1 ms to ~115 days.
    const ms = fc.oneof(
      fc.integer({ min: -8.64e15, max: 8.64e15 }),
      fc.integer({ min: -100, max: 100 }),
      fc.constantFrom(-8.64e15, 8.64e15, 0, -1, 1),
    );
    const windowMs = fc.oneof(fc.integer({ min: 1, max: 1e10 }), fc.constantFrom(1, 3_600_000));
    fc.assert(
      fc.property(ms, windowMs, (t, w) => {
        const start = windowStart(t, w);
        assert.ok(Number.isSafeInteger(start), `${t} / ${w}: ${start}`);
        // Exact in bigints: a multiple of the window, at or before the time, less than a window.
        const [T, W, S] = [BigInt(t), BigInt(w), BigInt(start)];
        assert.equal(S % W, 0n);
        assert.ok(S <= T && T < S + W, `${t} / ${w}: ${start}`);
      }),
      { numRuns: 20_000 },
    );
  });

  test('times just below, at and above a boundary, far from 1970', () => {
    const w = 3_600_000;
    for (const k of [-2_400_000_000, -1, 0, 1, 2_400_000_000]) {
      const boundary = k * w;
      assert.equal(windowStart(boundary - 1, w), boundary - w);
      assert.equal(windowStart(boundary, w), boundary);
      assert.equal(windowStart(boundary + 1, w), boundary);
    }
  });
});
