import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { periodBounds } from '@metering/pricing';
import { invoiceFor, plan, usageRow } from './invoice-fixtures';
import { effectiveBucketStart, planSegments } from './plan-segments';

const NOV = periodBounds('2026-11', 'UTC');
const at = (iso: string) => Date.parse(iso);
const amounts = (lines: readonly { meter: string; amount: string }[]) =>
  lines.map((l) => [l.meter, l.amount]);

const STD_CPU = [
  { upTo: '100', unitPrice: '0.040' },
  { upTo: '300', unitPrice: '0.035' },
  { upTo: null, unitPrice: '0.030' },
];

describe('invoice arithmetic (hand-computed)', () => {
  const cases: {
    name: string;
    plan: ReturnType<typeof plan>;
    cpuHours: string;
    memGibHours: string;
    lines: [string, string][];
    subtotal: string;
    total: string;
  }[] = [
    {
      name: 'flat memory: 1 GiB all month (720 GiB-hours) × 0.0050',
      plan: plan('mem', { memory: [{ upTo: null, unitPrice: '0.0050' }] }),
      cpuHours: '0',
      memGibHours: '720',
      lines: [['memory', '3.60']],
      subtotal: '3.60',
      total: '3.60',
    },
    {
      name: 'graduated CPU: 400 h = 100 × 0.040 + 200 × 0.035 + 100 × 0.030',
      plan: plan('std', { cpu: STD_CPU }),
      cpuHours: '400',
      memGibHours: '0',
      lines: [['cpu', '14.00']],
      subtotal: '14.00',
      total: '14.00',
    },
    {
      name: 'both meters, CPU in the second tier',
      plan: plan('std', { cpu: STD_CPU, memory: [{ upTo: null, unitPrice: '0.0050' }] }),
      cpuHours: '150',
      memGibHours: '1440',
      lines: [
        ['cpu', '5.75'],
        ['memory', '7.20'],
      ],
      subtotal: '12.95',
      total: '12.95',
    },
    {
      name: 'minimum commitment tops a small month up',
      plan: plan('min', { memory: [{ upTo: null, unitPrice: '0.0050' }], minimum: '10.00' }),
      cpuHours: '0',
      memGibHours: '720',
      lines: [
        ['memory', '3.60'],
        ['minimum', '6.40'],
      ],
      subtotal: '3.60',
      total: '10.00',
    },
    {
      name: 'minimum commitment below the usage adds nothing',
      plan: plan('min', { memory: [{ upTo: null, unitPrice: '0.0050' }], minimum: '1.00' }),
      cpuHours: '0',
      memGibHours: '720',
      lines: [['memory', '3.60']],
      subtotal: '3.60',
      total: '3.60',
    },
    {
      name: 'a line is rounded once, half-up: 0.125 h × 0.04 = 0.005 → 0.01',
      plan: plan('tiny', { cpu: [{ upTo: null, unitPrice: '0.04' }] }),
      cpuHours: '0.125',
      memGibHours: '0',
      lines: [['cpu', '0.01']],
      subtotal: '0.01',
      total: '0.01',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const invoice = invoiceFor(
        '2026-11',
        [{ effectiveFromMs: NOV.startMs, plan: c.plan }],
        () => [usageRow(0, 'web-1', c.cpuHours, c.memGibHours)],
      );
      assert.deepEqual(amounts(invoice.lines), c.lines);
      assert.equal(invoice.subtotal, c.subtotal);
      assert.equal(invoice.total, c.total);
      assert.equal(invoice.status, 'draft');
      assert.equal(invoice.number, null);
    });
  }

  test('the plan basis picks the ledger column', () => {
    const row = usageRow(0, 'vm-1', '10', '0', {
      cpuAllocationCoreSeconds: String(20 * 3600),
      cpuMaxCoreSeconds: String(25 * 3600),
    });
    const price = [{ upTo: null, unitPrice: '1' }];
    for (const [basis, amount] of [
      ['usage', '10.00'],
      ['allocation', '20.00'],
      ['max', '25.00'],
    ] as const) {
      const p = plan('b', { basis, cpu: price });
      const invoice = invoiceFor('2026-11', [{ effectiveFromMs: NOV.startMs, plan: p }], () => [
        row,
      ]);
      assert.equal(invoice.total, amount, basis);
    }
  });

  test('mid-month plan change: each half by its plan, minimum prorated by time', () => {
    const a = plan('a', { cpu: [{ upTo: null, unitPrice: '0.04' }], minimum: '30' });
    const b = plan('b', { cpu: [{ upTo: null, unitPrice: '0.02' }], minimum: '0' });
    const invoice = invoiceFor(
      '2026-11',
      [
        { effectiveFromMs: at('2026-10-01T00:00:00Z'), plan: a },
        { effectiveFromMs: at('2026-11-16T00:00:00Z'), plan: b },
      ],
      () => [usageRow(0, 'web-1', '100', '0'), usageRow(1, 'web-1', '100', '0')],
    );
    // 100 h × 0.04 + 100 h × 0.02 = 6.00; minimum 30 × 15/30 days = 15.00 → 9.00 more.
    assert.deepEqual(amounts(invoice.lines), [
      ['cpu', '4.00'],
      ['cpu', '2.00'],
      ['minimum', '9.00'],
    ]);
    assert.equal(invoice.minimum.prorated, '15.00');
    assert.equal(invoice.total, '15.00');
    assert.equal(invoice.lines[1]?.from, '2026-11-16T00:00:00.000Z');
  });

  test('tiers continue across segments: the second plan starts where the month stands', () => {
    const a = plan('a', {
      cpu: [
        { upTo: '100', unitPrice: '0.04' },
        { upTo: null, unitPrice: '0.03' },
      ],
    });
    const b = plan('b', {
      cpu: [
        { upTo: '100', unitPrice: '0.05' },
        { upTo: null, unitPrice: '0.01' },
      ],
    });
    const invoice = invoiceFor(
      '2026-11',
      [
        { effectiveFromMs: NOV.startMs, plan: a },
        { effectiveFromMs: at('2026-11-10T00:00:00Z'), plan: b },
      ],
      () => [usageRow(0, 'web-1', '80', '0'), usageRow(1, 'web-1', '50', '0')],
    );
    // a: 80 × 0.04 = 3.20; b from 80: 20 × 0.05 + 30 × 0.01 = 1.30
    assert.deepEqual(amounts(invoice.lines), [
      ['cpu', '3.20'],
      ['cpu', '1.30'],
    ]);
    assert.deepEqual(
      invoice.lines[1]?.tiers?.map((t) => [t.tier, t.quantity]),
      [
        [1, '20'],
        [2, '30'],
      ],
    );
  });

  test('time before the first assignment is not charged', () => {
    const p = plan('p', { cpu: [{ upTo: null, unitPrice: '1' }], minimum: '30' });
    const invoice = invoiceFor(
      '2026-11',
      [{ effectiveFromMs: at('2026-11-21T00:00:00Z'), plan: p }],
      () => [usageRow(0, 'web-1', '5', '0'), usageRow(1, 'web-1', '2', '0')],
    );
    assert.deepEqual(amounts(invoice.lines), [
      ['cpu', '2.00'],
      ['minimum', '8.00'], // 30 × 10/30
    ]);
  });

  test('per-resource breakdown and completeness', () => {
    const p = plan('p', { cpu: [{ upTo: null, unitPrice: '1' }] });
    const invoice = invoiceFor('2026-11', [{ effectiveFromMs: NOV.startMs, plan: p }], () => [
      usageRow(0, 'a', '3', '1', { observedMs: '3000', gapMs: '1000' }),
      usageRow(0, 'b', '1', '0', { observedMs: '4000', gapMs: '0' }),
    ]);
    assert.deepEqual(
      invoice.resources.map((r) => [r.resourceId, r.cpu.quantity, r.memory.quantity, r.amount]),
      [
        ['a', '3', '1', '3.00'],
        ['b', '1', '0', '1.00'],
      ],
    );
    // Neither declares an interval: judged by time. The invoice pools them (7000 of 8000 ms);
    // the CPU line weighs each resource by its CPU: (3 × 0.75 + 1 × 1) / 4.
    assert.equal(invoice.completeness.ratio, '0.8750');
    assert.equal(invoice.lines[0]?.completeness, '0.8125');
    assert.deepEqual(
      invoice.resources.map((r) => r.completeness),
      ['0.7500', '1.0000'],
    );
  });

  test('completeness counts expected samples: thinned and unseen tails are missing, and said', () => {
    const p = plan('p', { cpu: [{ upTo: null, unitPrice: '1' }] });
    const counts = (expected: string, observed: string, thinned: string, tailMs: string) => ({
      inferredGapMs: tailMs,
      samplesExpected: expected,
      samplesObserved: observed,
      samplesThinned: thinned,
      declaredMs: String(3_600_000 + Number(tailMs)),
      declaredGapMs: tailMs,
    });
    const invoice = invoiceFor('2026-11', [{ effectiveFromMs: NOV.startMs, plan: p }], () => [
      // a: 360 expected in its hour, 270 present, 45 thinned; b: a 10-minute unseen tail.
      usageRow(0, 'a', '1', '0', { completeness: counts('360', '270', '45', '0') }),
      usageRow(0, 'b', '3', '0', { completeness: counts('420', '360', '0', '600000') }),
    ]);
    assert.deepEqual(
      invoice.resources.map((r) => r.completeness),
      ['0.7500', '0.8571'],
    );
    // Pooled: 630 of 780; the line: (1 × 270/360 + 3 × 360/420) / 4.
    assert.equal(invoice.completeness.ratio, '0.8076');
    assert.equal(invoice.lines[0]?.completeness, '0.8303');
    assert.deepEqual(
      {
        expected: invoice.completeness.samplesExpected,
        observed: invoice.completeness.samplesObserved,
        thinned: invoice.completeness.samplesThinned,
        tail: invoice.completeness.inferredGapMs,
      },
      { expected: '780', observed: '630', thinned: '45', tail: '600000' },
    );
  });

  test('JPY has no minor unit; KWD three', () => {
    const p = plan('p', { cpu: [{ upTo: null, unitPrice: '1.5' }] });
    const jpy = invoiceFor(
      '2026-11',
      [{ effectiveFromMs: NOV.startMs, plan: p }],
      () => [usageRow(0, 'a', '1', '0')],
      {
        currency: 'JPY',
      },
    );
    assert.equal(jpy.total, '2');
    const kwd = invoiceFor(
      '2026-11',
      [{ effectiveFromMs: NOV.startMs, plan: p }],
      () => [usageRow(0, 'a', '0.0007', '0')],
      {
        currency: 'KWD',
      },
    );
    assert.equal(kwd.total, '0.001'); // 0.00105 → 0.001
  });
});

describe('plan segments', () => {
  test('an assignment inside a bucket takes the whole bucket (truncated to the tenant hour)', () => {
    // Asia/Kolkata hours start at :30 UTC.
    assert.equal(
      new Date(effectiveBucketStart('Asia/Kolkata', at('2026-11-15T10:10:00Z'))).toISOString(),
      '2026-11-15T09:30:00.000Z',
    );
    assert.equal(
      new Date(effectiveBucketStart('UTC', at('2026-11-15T10:10:00Z'))).toISOString(),
      '2026-11-15T10:00:00.000Z',
    );
  });

  test('segments cover the month contiguously and pick the assignment in force', () => {
    const a = plan('a', {});
    const b = plan('b', {});
    const segments = planSegments(NOV.startMs, NOV.endMs, 'UTC', [
      { effectiveFromMs: at('2026-12-05T00:00:00Z'), plan: a },
      { effectiveFromMs: at('2026-11-10T00:30:00Z'), plan: b },
      { effectiveFromMs: at('2026-09-01T00:00:00Z'), plan: a },
    ]);
    assert.deepEqual(
      segments.map((s) => [new Date(s.fromMs).toISOString(), s.plan?.id ?? null]),
      [
        ['2026-11-01T00:00:00.000Z', 'a'],
        ['2026-11-10T00:00:00.000Z', 'b'],
      ],
    );
    assert.equal(segments.at(-1)?.toMs, NOV.endMs);
  });

  test('no assignment: one segment without a plan', () => {
    assert.deepEqual(
      planSegments(NOV.startMs, NOV.endMs, 'UTC', []).map((s) => s.plan),
      [null],
    );
  });
});
