import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  HealthRegistry,
  type HealthIndicator,
  type HealthIndicatorResult,
} from './health.registry';
import { ObservabilityError } from './observability.errors';

const up = (): Promise<HealthIndicatorResult> => Promise.resolve({ status: 'up' });
const down = (): Promise<HealthIndicatorResult> => Promise.resolve({ status: 'down' });

test('up when every indicator is up, naming each check and its probe', async () => {
  const health = new HealthRegistry();
  health.register('kafka', () => Promise.resolve({ status: 'up', detail: { brokers: 1 } }));
  health.register('postgres', up);
  const report = await health.check();
  assert.equal(report.status, 'up');
  assert.equal(report.probe, 'readiness');
  assert.deepEqual(Object.keys(report.checks).sort(), ['kafka', 'postgres']);
  assert.deepEqual(report.checks.kafka?.detail, { brokers: 1 });
  assert.equal(report.checks.kafka?.probe, 'readiness');
});

test('no indicators means the process itself is up, for both probes', async () => {
  const health = new HealthRegistry();
  assert.deepEqual(await health.liveness(), { probe: 'liveness', status: 'up', checks: {} });
  assert.deepEqual(await health.readiness(), { probe: 'readiness', status: 'up', checks: {} });
});

test('liveness runs only liveness indicators: a dependency that is down, throws or hangs is not even called', async () => {
  const health = new HealthRegistry({ timeoutMs: 20 });
  const calls: string[] = [];
  const counted =
    (name: string, indicator: HealthIndicator): HealthIndicator =>
    () => {
      calls.push(name);
      return indicator();
    };
  health.register('database', counted('database', down)); // readiness is the default
  health.register(
    'docker',
    counted('docker', () => Promise.reject(new Error('connect ENOENT /var/run/docker.sock'))),
    { probe: 'readiness' },
  );
  health.register(
    'libvirt',
    counted('libvirt', () => new Promise(() => undefined)),
    { probe: 'readiness' },
  );
  health.register('consumer-loop', counted('consumer-loop', up), { probe: 'liveness' });

  const live = await health.liveness();
  assert.equal(live.status, 'up');
  assert.deepEqual(Object.keys(live.checks), ['consumer-loop']);
  assert.deepEqual(calls, ['consumer-loop']);
  assert.deepEqual(health.names('liveness'), ['consumer-loop']);

  const ready = await health.readiness();
  assert.equal(ready.status, 'down');
  assert.deepEqual(Object.keys(ready.checks).sort(), [
    'consumer-loop',
    'database',
    'docker',
    'libvirt',
  ]);
  assert.equal(ready.checks['consumer-loop']?.status, 'up');
  assert.equal(ready.checks['consumer-loop']?.probe, 'liveness');
  assert.equal(ready.checks.database?.status, 'down');
  assert.match(String(ready.checks.docker?.detail?.error), /ENOENT/);
  assert.match(String(ready.checks.libvirt?.detail?.error), /no answer within 20 ms/);
});

test('a liveness indicator that is down makes both probes down: not alive is not ready', async () => {
  const health = new HealthRegistry();
  health.register('database', up);
  health.register(
    'consumer-loop',
    () => Promise.resolve({ status: 'down', detail: { state: 'crashed' } }),
    {
      probe: 'liveness',
    },
  );
  const live = await health.liveness();
  assert.equal(live.status, 'down');
  assert.deepEqual(live.checks['consumer-loop']?.detail, { state: 'crashed' });
  assert.equal((await health.readiness()).status, 'down');
});

const downCases: {
  name: string;
  indicator: HealthIndicator;
  error?: RegExp;
}[] = [
  { name: 'reports down', indicator: down },
  {
    name: 'rejects',
    indicator: () => Promise.reject(new Error('connect ECONNREFUSED')),
    error: /ECONNREFUSED/,
  },
  {
    name: 'throws synchronously',
    indicator: () => {
      throw new TypeError('boom before any promise');
    },
    error: /boom before any promise/,
  },
  {
    name: 'rejects with a non-Error',
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    indicator: () => Promise.reject('a bare string'),
    error: /a bare string/,
  },
  {
    name: 'hangs past the timeout',
    indicator: async () => {
      await sleep(1_000);
      return { status: 'up' };
    },
    error: /no answer within 20 ms/,
  },
  {
    name: 'never settles',
    indicator: () => new Promise(() => undefined),
    error: /no answer within 20 ms/,
  },
  {
    name: 'resolves to nothing',
    indicator: () => Promise.resolve(undefined as unknown as HealthIndicatorResult),
  },
  {
    name: 'resolves to an unknown status',
    indicator: () => Promise.resolve({ status: 'degraded' } as unknown as HealthIndicatorResult),
  },
];

for (const probe of ['liveness', 'readiness'] as const) {
  for (const { name, indicator, error } of downCases) {
    test(`${probe}: down when one indicator ${name}; the others still report`, async () => {
      const health = new HealthRegistry({ timeoutMs: 20 });
      health.register('ok', up, { probe });
      health.register('bad', indicator, { probe });
      const started = Date.now();
      const report = await health.check(probe);
      assert.ok(Date.now() - started < 500, 'bounded by the timeout, not by the indicator');
      assert.equal(report.status, 'down');
      assert.equal(report.checks.ok?.status, 'up');
      assert.equal(report.checks.bad?.status, 'down');
      if (error) assert.match(String(report.checks.bad?.detail?.error), error);
      assert.ok(!JSON.stringify(report).includes('    at '), 'no stack trace in the report');
    });
  }
}

test('a detail JSON cannot encode is replaced, so the probe still answers', async () => {
  const health = new HealthRegistry();
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  health.register('big', () => Promise.resolve({ status: 'up', detail: { offset: 10n } }));
  health.register('cyclic', () => Promise.resolve({ status: 'down', detail: cyclic }));
  const report = await health.check();
  assert.doesNotThrow(() => JSON.stringify(report));
  assert.equal(report.checks.big?.status, 'up');
  assert.match(String(report.checks.big?.detail?.error), /detail not JSON/);
  assert.equal(report.checks.cyclic?.status, 'down');
});

test('probes arriving while a run is in progress share it; after the timeout the next probe starts afresh', async () => {
  let clock = 0;
  const health = new HealthRegistry({ timeoutMs: 400, now: () => clock });
  let calls = 0;
  let release: (() => void) | undefined;
  health.register('database', () => {
    calls++;
    return new Promise((resolve) => {
      release = () => resolve({ status: 'up' });
    });
  });
  // A burst of probes (both routes) while the first run is pending: one call.
  const burst = Promise.all(Array.from({ length: 50 }, () => health.readiness()));
  await new Promise(setImmediate);
  assert.equal(calls, 1);
  release?.();
  const reports = await burst;
  assert.ok(reports.every((r) => r.status === 'up'));

  // A run that never settles is abandoned once older than the timeout: the dependency came back.
  let hang = true;
  let brokerCalls = 0;
  health.register('broker', () => {
    brokerCalls++;
    return hang ? new Promise(() => undefined) : up();
  });
  assert.equal((await health.readiness()).checks.broker?.status, 'down');
  assert.equal(brokerCalls, 1);
  hang = false;
  // Still within the first run's timeout window: shared, so still down, no second call.
  assert.equal((await health.readiness()).checks.broker?.status, 'down');
  assert.equal(brokerCalls, 1);
  clock += 401;
  const again = await health.readiness();
  assert.equal(again.checks.broker?.status, 'up');
  assert.equal(brokerCalls, 2);
});

test('an answer is reused for cacheMs: a flood of probes is about one check per second', async () => {
  let clock = 0;
  let calls = 0;
  let status: 'up' | 'down' = 'up';
  const health = new HealthRegistry({ cacheMs: 1_000, now: () => clock });
  health.register('database', () => {
    calls++;
    return Promise.resolve({ status });
  });
  for (let i = 0; i < 500; i++) {
    assert.equal((await health.readiness()).status, 'up');
    clock += 1; // 500 sequential probes within half a second
  }
  assert.equal(calls, 1);
  status = 'down';
  clock += 1_000;
  assert.equal((await health.readiness()).status, 'down', 'a fresh answer after cacheMs');
  assert.equal(calls, 2);

  const uncached = new HealthRegistry({ cacheMs: 0 });
  let uncachedCalls = 0;
  uncached.register('database', () => {
    uncachedCalls++;
    return up();
  });
  for (let i = 0; i < 3; i++) await uncached.readiness();
  assert.equal(uncachedCalls, 3);
});

test('names are unique across probes and registration can be undone', async () => {
  const health = new HealthRegistry();
  const remove = health.register('db', down);
  for (const probe of ['liveness', 'readiness'] as const) {
    assert.throws(
      () => health.register('db', up, { probe }),
      (error: unknown) =>
        error instanceof ObservabilityError && error.code === 'HEALTH_INDICATOR_DUPLICATE',
    );
  }
  remove();
  assert.deepEqual(health.names(), []);
  assert.equal((await health.check()).status, 'up');
});
