import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validateSample } from '@metering/contracts';
import { ContainerInstance } from './container-instance';
import { identityOf, type Reading } from './reading';

const START = Date.parse('2026-11-26T13:00:00.000Z');
const identity = identityOf(
  { id: 'a'.repeat(64), name: 'web-1', startedAt: '2026-11-26T13:00:00.000123456Z' },
  'acme',
);
const limits = { cpuLimitCores: 0.5, memoryLimitBytes: 64 * 2 ** 20 };
const reading = (offsetMs: number, cpu: bigint, memory = 1000): Reading => ({
  at: START + offsetMs,
  doneAt: START + offsetMs + 0.05,
  cpuUsageNs: cpu,
  memoryWorkingSetBytes: memory,
  limits,
});

describe('ContainerInstance', () => {
  test('first published sample is start, then running, then final; all valid', () => {
    const c = new ContainerInstance(identity, START);
    assert.equal(c.record(reading(40, 10n)), 'accepted');
    const start = c.publish('node-1');
    assert.equal(c.record(reading(10_040, 5_000_000_000n)), 'accepted');
    const running = c.publish('node-1');
    const final = c.finalize('node-1', START + 12_000);
    assert.deepEqual(
      [start?.lifecycle, running?.lifecycle, final?.lifecycle],
      ['start', 'running', 'final'],
    );
    for (const s of [start, running, final]) assert.equal(validateSample(s).ok, true);
    assert.equal(final?.cpu.usageNs, '5000000000');
    assert.equal(final?.observedAt, '2026-11-26T13:00:12.000Z');
    assert.equal(start?.resource.startedAt, '2026-11-26T13:00:00.000Z');
    assert.equal(start?.resource.instanceId, `${'a'.repeat(12)}@2026-11-26T13:00:00.000Z`);
  });

  test('readings out of order or with a counter going back are refused', () => {
    const c = new ContainerInstance(identity, START);
    c.record(reading(100, 50n));
    assert.equal(c.record(reading(100, 60n)), 'stale');
    assert.equal(c.record(reading(50, 60n)), 'stale');
    assert.equal(c.record(reading(200, 40n)), 'counter-went-back');
    assert.equal(c.lastReading?.cpuUsageNs, 50n);
  });

  test('nothing new, or the same millisecond as the last sample, publishes nothing', () => {
    const c = new ContainerInstance(identity, START);
    assert.equal(c.publish('h'), null);
    c.record(reading(100.1, 1n));
    assert.notEqual(c.publish('h'), null);
    assert.equal(c.publish('h'), null);
    c.record(reading(100.7, 2n));
    assert.equal(c.publish('h'), null, 'same millisecond: same sample id');
    c.record(reading(101.2, 3n));
    assert.equal(c.publish('h')?.cpu.usageNs, '3');
  });

  test('the final sample is never before its reading nor the start, and has its own id', () => {
    const c = new ContainerInstance(identity, START);
    c.record(reading(500, 7n));
    const running = c.publish('h');
    const final = c.finalize('h', START + 200); // a die time older than our reading
    assert.equal(final?.observedAt, '2026-11-26T13:00:00.501Z');
    assert.notEqual(final?.sampleId, running?.sampleId);
    assert.equal(c.record(reading(600, 8n)), 'finalized');
    assert.equal(c.finalize('h', START + 900), null, 'only once');
  });

  test('an instance never read ends without a sample', () => {
    const c = new ContainerInstance(identity, START);
    assert.equal(c.finalize('h', START + 900), null);
    assert.equal(c.finalized, true);
  });

  test('readingBefore gives the latest reading that had returned by then', () => {
    const c = new ContainerInstance(identity, START);
    c.record(reading(100, 1n));
    c.record(reading(200, 2n));
    c.record(reading(300, 3n));
    assert.equal(c.readingBefore(START + 250)?.cpuUsageNs, 2n);
    assert.equal(
      c.readingBefore(START + 200.01)?.cpuUsageNs,
      1n,
      'the 200 ms read returned at 200.05',
    );
    assert.equal(c.readingBefore(START), null);
  });
});
