import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MonthQueue } from './month-queue';

const key = (tenantId: string, period = '2026-12'): { tenantId: string; period: string } => ({
  tenantId,
  period,
});

function takeAll(q: MonthQueue): string[] {
  const out: string[] = [];
  for (let m = q.take(); m !== undefined; m = q.take()) out.push(m.id);
  return out;
}

describe('MonthQueue: months behind a backlog wait for the delay, the others do not', () => {
  test('a caught-up batch makes its months ready at once, in the order queued, each once', () => {
    const q = new MonthQueue(30_000);
    for (const t of ['b', 'a', 'b', 'ü\u0000租', 'a']) q.add(t, key(t), false, 1_000);
    assert.equal(q.readyCount, 3);
    assert.equal(q.deferredCount, 0);
    assert.deepEqual(takeAll(q), ['b', 'a', 'ü\u0000租']);
    assert.equal(q.take(), undefined);
  });

  test('a backlog batch defers its months until the delay from when they were first queued', () => {
    const q = new MonthQueue(30_000);
    q.add('a', key('a'), true, 1_000);
    q.add('b', key('b'), true, 5_000);
    // Queued again behind the backlog: not put off any further.
    q.add('a', key('a'), true, 20_000);
    assert.equal(q.readyCount, 0);
    assert.equal(q.promote(30_999), 31_000, 'the first one due');
    assert.equal(q.readyCount, 0);
    assert.equal(q.promote(31_000), 35_000, 'a is due; b is next');
    assert.deepEqual(takeAll(q), ['a']);
    assert.equal(q.promote(1e12), null);
    assert.deepEqual(takeAll(q), ['b']);
  });

  test('a deferred month a caught-up batch touches is ready at once, and keeps its waiters', () => {
    const q = new MonthQueue(30_000);
    q.add('a', key('a'), true, 0);
    let woken = 0;
    q.get('a')!.waiters.push(() => (woken += 1));
    q.add('a', key('a'), false, 1);
    assert.equal(q.deferredCount, 0);
    const a = q.take()!;
    assert.equal(a.trigger, 'batch');
    for (const done of a.waiters) done();
    assert.equal(woken, 1);
  });

  test('no delay: a backlog batch queues its months ready', () => {
    const q = new MonthQueue(0);
    q.add('a', key('a'), true, 0);
    assert.equal(q.readyCount, 1);
    assert.equal(q.promote(0), null);
  });

  test('a ready month is not deferred by a backlog batch after it; the sweep queues ready', () => {
    const q = new MonthQueue(30_000);
    q.add('a', key('a'), false, 0);
    q.add('a', key('a'), true, 0);
    assert.equal(q.deferredCount, 0);
    q.addReady({ id: 's', month: key('s'), trigger: 'sweep', waiters: [] });
    assert.deepEqual(takeAll(q), ['a', 's']);
  });

  test('the same tenant in two months is two entries; clear() hands back every one', () => {
    const q = new MonthQueue(30_000);
    q.add('t\u00002026-11', key('t', '2026-11'), true, 0);
    q.add('t\u00002026-12', key('t', '2026-12'), false, 0);
    assert.equal(q.deferredCount + q.readyCount, 2);
    const all = q.clear().map((m) => m.month.period);
    assert.deepEqual(all.sort(), ['2026-11', '2026-12']);
    assert.equal(q.take(), undefined);
    assert.equal(q.promote(1e12), null);
  });

  test('many months behind a backlog: promoted in the order due, none lost', () => {
    const q = new MonthQueue(1_000);
    for (let i = 0; i < 10_000; i++) q.add(`t${i}`, key(`t${i}`), true, i);
    assert.equal(q.promote(1_000 + 4_999), 6_000);
    assert.equal(q.readyCount, 5_000);
    assert.equal(q.promote(Number.MAX_SAFE_INTEGER), null);
    const ids = takeAll(q);
    assert.equal(ids.length, 10_000);
    assert.equal(ids[0], 't0');
    assert.equal(ids.at(-1), 't9999');
  });

  test('a delay that is not a length of time is refused', () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])
      assert.throws(() => new MonthQueue(bad), /pricing delay/);
  });
});
