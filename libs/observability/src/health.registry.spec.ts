import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { HealthRegistry } from './health.registry';
import { ObservabilityError } from './observability.errors';

test('up when every indicator is up, naming each check', async () => {
  const health = new HealthRegistry();
  health.register('kafka', () => Promise.resolve({ status: 'up', detail: { brokers: 1 } }));
  health.register('postgres', () => Promise.resolve({ status: 'up' }));
  const report = await health.check();
  assert.equal(report.status, 'up');
  assert.deepEqual(Object.keys(report.checks).sort(), ['kafka', 'postgres']);
  assert.deepEqual(report.checks.kafka?.detail, { brokers: 1 });
});

test('no indicators means the process itself is up', async () => {
  assert.deepEqual(await new HealthRegistry().check(), { status: 'up', checks: {} });
});

const downCases: {
  name: string;
  indicator: () => Promise<{ status: 'up' | 'down' }>;
  error?: RegExp;
}[] = [
  { name: 'reports down', indicator: () => Promise.resolve({ status: 'down' }) },
  {
    name: 'throws',
    indicator: () => Promise.reject(new Error('connect ECONNREFUSED')),
    error: /ECONNREFUSED/,
  },
  {
    name: 'hangs past the timeout',
    indicator: async () => {
      await sleep(1_000);
      return { status: 'up' };
    },
    error: /no answer within 20 ms/,
  },
];

for (const { name, indicator, error } of downCases) {
  test(`down when one indicator ${name}; the others still report`, async () => {
    const health = new HealthRegistry({ timeoutMs: 20 });
    health.register('ok', () => Promise.resolve({ status: 'up' }));
    health.register('bad', indicator);
    const report = await health.check();
    assert.equal(report.status, 'down');
    assert.equal(report.checks.ok?.status, 'up');
    assert.equal(report.checks.bad?.status, 'down');
    if (error) assert.match(String(report.checks.bad?.detail?.error), error);
    assert.ok(!JSON.stringify(report).includes('    at '), 'no stack trace in the report');
  });
}

test('names are unique and registration can be undone', async () => {
  const health = new HealthRegistry();
  const remove = health.register('db', () => Promise.resolve({ status: 'down' }));
  assert.throws(
    () => health.register('db', () => Promise.resolve({ status: 'up' })),
    (error: unknown) =>
      error instanceof ObservabilityError && error.code === 'HEALTH_INDICATOR_DUPLICATE',
  );
  remove();
  assert.deepEqual(health.names(), []);
  assert.equal((await health.check()).status, 'up');
});
