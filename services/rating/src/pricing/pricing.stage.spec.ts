import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type MonthKey, type MonthWork, type PricingStore } from '../ledger/pricing.store';
import { type UsageEventSink } from '../publishing/usage-event.outbox';
import { PricingStage, type StageCatalog } from './pricing.stage';
import { type TenantAffinity } from './tenant-affinity';

// How the stage schedules its passes, without a database: the store answers the sweep's query,
// and priceMonth (one pass per month, what the int specs check against PostgreSQL) is recorded.
// The passes' own work: test/pricing-stage.int.spec.ts and test/usage-outbox.int.spec.ts.

type Trigger = 'batch' | 'sweep' | 'drain';

class RecordingStage extends PricingStage {
  readonly calls: { month: string; trigger: Trigger }[] = [];
  passesNow = 0;
  mostAtOnce = 0;
  /** A pass waits for this when set (the month in flight). */
  gate: Promise<void> | null = null;

  override async priceMonth(key: MonthKey, trigger: Trigger = 'sweep'): Promise<'done' | 'held'> {
    this.passesNow += 1;
    this.mostAtOnce = Math.max(this.mostAtOnce, this.passesNow);
    this.calls.push({ month: `${key.tenantId}/${key.period}`, trigger });
    try {
      if (this.gate !== null) await this.gate;
      else await new Promise((r) => setImmediate(r));
      return 'done';
    } finally {
      this.passesNow -= 1;
    }
  }
}

function work(tenantId: string, dueSeconds = 1): MonthWork {
  return { tenantId, period: '2026-12', ageSeconds: dueSeconds + 1, dueSeconds };
}

function stageWith(
  months: () => MonthWork[],
  o: {
    coalesceMs?: number;
    owns?: (tenant: string) => boolean;
    orphanMs?: number;
    backlogDelayMs?: number;
  } = {},
): RecordingStage {
  const store = {
    monthsWithWork: () => Promise.resolve(months()),
    oldestUnpricedSeconds: () => Promise.resolve(0),
  } as unknown as PricingStore;
  const catalog = { refresh: () => Promise.resolve() } as unknown as StageCatalog;
  return new RecordingStage(
    store,
    catalog,
    {} as UsageEventSink,
    { priced: () => undefined },
    {
      windows: { windowMs: 300_000 },
      intervalMs: 1_000,
      idleMs: 60_000,
      coalesceMs: o.coalesceMs ?? 60_000,
      ...(o.owns === undefined ? {} : { affinity: { owns: o.owns } as TenantAffinity }),
      ...(o.orphanMs === undefined ? {} : { orphanMs: o.orphanMs }),
      ...(o.backlogDelayMs === undefined ? {} : { backlogDelayMs: o.backlogDelayMs }),
    },
  );
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const month = (tenantId: string): MonthKey => ({ tenantId, period: '2026-12' });

describe('PricingStage: the sweep and the batches share one queue', () => {
  test('a month already queued by a batch is not priced twice; the sweep resolves once its months are priced, one pass at a time', async () => {
    const stage = stageWith(() => [work('a'), work('b'), work('ü\u0000租')]);
    stage.enqueue([month('a')]); // gathering for a minute
    await stage.sweep();
    assert.deepEqual(stage.calls, [
      { month: 'a/2026-12', trigger: 'batch' },
      { month: 'b/2026-12', trigger: 'sweep' },
      { month: 'ü\u0000租/2026-12', trigger: 'sweep' },
    ]);
    assert.equal(stage.mostAtOnce, 1);
    await stage.stop();
  });

  test('a month in flight is not queued again by the sweep; one a batch touched meanwhile is', async () => {
    let open!: () => void;
    const stage = stageWith(() => [work('a')], { coalesceMs: 0 });
    stage.gate = new Promise<void>((r) => (open = r));
    stage.enqueue([month('a')]);
    await new Promise((r) => setTimeout(r, 20)); // the queue runs a's pass, held at the gate
    assert.equal(stage.calls.length, 1);
    const sweeping = stage.sweep();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(stage.calls.length, 1, 'the sweep waits for the pass in flight');
    stage.enqueue([month('a')]); // a batch committed pieces after the pass read its page
    stage.gate = null;
    open();
    await sweeping;
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      stage.calls.map((c) => c.trigger),
      ['batch', 'batch'],
      "the batch's month again, never the sweep's copy",
    );
    assert.equal(stage.mostAtOnce, 1);
    await stage.stop();
  });

  test("with affinity the sweep queues its own months, and another's only once overdue", async () => {
    const stage = stageWith(() => [work('mine', 0.5), work('theirs', 1), work('late', 6)], {
      owns: (t) => t === 'mine',
      orphanMs: 5_000,
    });
    await stage.sweep();
    assert.deepEqual(
      stage.calls.map((c) => c.month),
      ['mine/2026-12', 'late/2026-12'],
    );
    await stage.stop();
  });

  test('a stopped stage queues nothing, from a batch or a sweep', async () => {
    const stage = stageWith(() => [work('a')]);
    await stage.stop();
    stage.enqueue([month('a')]);
    await stage.sweep();
    assert.deepEqual(stage.calls, []);
  });

  test('duplicated and many months: each priced once', async () => {
    const tenants = Array.from({ length: 500 }, (_, i) => `t${i % 250}`);
    const stage = stageWith(() => tenants.map((t) => work(t)));
    stage.enqueue(tenants.map(month));
    await stage.sweep();
    assert.equal(stage.calls.length, 250);
    assert.equal(new Set(stage.calls.map((c) => c.month)).size, 250);
    assert.ok(stage.calls.every((c) => c.trigger === 'batch'));
    await stage.stop();
  });
});

describe('PricingStage: months a backlog touched wait for the delay', () => {
  test('priced once the delay is over, once each however many batches touched them', async () => {
    const stage = stageWith(() => [], { coalesceMs: 0, backlogDelayMs: 150 });
    stage.enqueue([month('a'), month('b')], true);
    await pause(40);
    stage.enqueue([month('a'), month('b'), month('a')], true);
    await pause(40);
    assert.equal(stage.calls.length, 0, 'nothing before the delay');
    await pause(200);
    assert.deepEqual(
      stage.calls.map((c) => `${c.month} ${c.trigger}`),
      ['a/2026-12 batch', 'b/2026-12 batch'],
    );
    await stage.stop();
  });

  test('a caught-up batch prices a deferred month at once, as before', async () => {
    const stage = stageWith(() => [], { coalesceMs: 0, backlogDelayMs: 60_000 });
    stage.enqueue([month('a'), month('b')], true);
    stage.enqueue([month('b')]);
    await pause(40);
    assert.deepEqual(
      stage.calls.map((c) => c.month),
      ['b/2026-12'],
    );
    await stage.stop();
  });

  test('the sweep neither prices a deferred month early nor waits for it', async () => {
    const stage = stageWith(() => [work('a'), work('c')], {
      coalesceMs: 0,
      backlogDelayMs: 60_000,
    });
    stage.enqueue([month('a')], true);
    await stage.sweep(); // resolves: c priced, a left to its delay
    assert.deepEqual(
      stage.calls.map((c) => `${c.month} ${c.trigger}`),
      ['c/2026-12 sweep'],
    );
    await stage.stop();
  });

  test('stopped with months deferred: none priced, the timer gone (the process can exit)', async () => {
    const stage = stageWith(() => [], { coalesceMs: 0, backlogDelayMs: 50 });
    stage.enqueue([month('a')], true);
    await stage.stop();
    await pause(100);
    assert.deepEqual(stage.calls, []);
  });

  test('no delay: a backlog batch prices as a caught-up one', async () => {
    const stage = stageWith(() => [], { coalesceMs: 0, backlogDelayMs: 0 });
    stage.enqueue([month('a')], true);
    await pause(40);
    assert.equal(stage.calls.length, 1);
    await stage.stop();
  });
});
