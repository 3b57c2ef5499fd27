import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PLAIN_EVERY_MS, PlainProgress, progressReporter } from './progress.reporter';

function sink(): { lines: string[]; write(text: string): void } {
  const lines: string[] = [];
  return { lines, write: (text: string) => lines.push(...text.split('\n').filter(Boolean)) };
}

test('plain lines: one per 10 % step, however many updates', () => {
  const out = sink();
  let now = 0;
  const p = new PlainProgress(out, 'close 2026-11', 'tenants', () => now);
  for (let done = 0; done <= 1000; done++) {
    now += 1;
    p.update(done, 1000);
  }
  p.stop();
  assert.equal(out.lines.length, 11, out.lines.join('\n'));
  assert.equal(out.lines[0], 'close 2026-11: 0% (0/1000 tenants, 0.0 s)');
  assert.equal(out.lines[10], 'close 2026-11: 100% (1000/1000 tenants, 1.0 s)');
});

test('plain lines: also every 5 s while a step takes longer', () => {
  const out = sink();
  let now = 0;
  const p = new PlainProgress(out, 'export 2026-11', 'invoices', () => now);
  p.update(0, 100);
  for (let i = 0; i < 4; i++) {
    now += PLAIN_EVERY_MS;
    p.update(1, 100);
  }
  assert.equal(out.lines.length, 5);
  assert.match(out.lines[4]!, /1% \(1\/100 invoices, 20\.0 s\)/);
});

test('plain lines: stop writes the final figures once; nothing when nothing ran', () => {
  const out = sink();
  const p = new PlainProgress(out, 'x', 'tenants', () => 0);
  p.stop();
  assert.deepEqual(out.lines, []);
  p.update(3, 7);
  p.update(5, 7);
  p.stop();
  assert.deepEqual(out.lines, ['x: 42% (3/7 tenants, 0.0 s)', 'x: 71% (5/7 tenants, 0.0 s)']);
  const zero = sink();
  const q = new PlainProgress(zero, 'y', 'tenants', () => 0);
  q.update(0, 0);
  q.stop();
  assert.deepEqual(zero.lines, ['y: 100% (0/0 tenants, 0.0 s)']);
});

test('a terminal gets the bar, anything else the plain lines', () => {
  assert.ok(progressReporter(sink(), 'x', 'tenants') instanceof PlainProgress);
  const tty = Object.assign(sink(), { isTTY: true, on: () => undefined });
  assert.ok(!(progressReporter(tty, 'x', 'tenants') instanceof PlainProgress));
});
