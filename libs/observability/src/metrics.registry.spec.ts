import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsRegistry } from './metrics.registry';
import { ObservabilityError } from './observability.errors';

test('helpers prefix names with the service and label every series with it', async () => {
  const metrics = new MetricsRegistry({ serviceName: 'billing-api', collectDefaultMetrics: false });
  const counter = metrics.counter({
    name: 'invoices_rendered_total',
    help: 'Invoices rendered',
    labelNames: ['format'] as const,
  });
  counter.inc({ format: 'pdf' }, 2);
  metrics.gauge({ name: 'open_periods', help: 'Open periods' }).set(3);
  metrics
    .histogram({ name: 'render_seconds', help: 'Render time', buckets: [0.1, 1] })
    .observe(0.5);
  const text = await metrics.metrics();
  assert.match(
    text,
    /^billing_api_invoices_rendered_total\{format="pdf",service="billing-api"\} 2$/m,
  );
  assert.match(text, /^billing_api_open_periods\{service="billing-api"\} 3$/m);
  assert.match(text, /^billing_api_render_seconds_bucket\{le="1",service="billing-api"\} 1$/m);
  assert.equal(metrics.contentType, 'text/plain; version=0.0.4; charset=utf-8');
});

test('default process metrics keep their standard names', async () => {
  const metrics = new MetricsRegistry({ serviceName: 'rating' });
  const text = await metrics.metrics();
  assert.match(text, /^process_cpu_seconds_total\{service="rating"\} /m);
  assert.match(text, /^nodejs_eventloop_lag_seconds\{service="rating"\} /m);
});

test('the resting cost is on /metrics: event-loop busy time and context switches, growing', async () => {
  const metrics = new MetricsRegistry({ serviceName: 'rating' });
  const value = (text: string, name: string): number => {
    const m = new RegExp(`^${name}\\{service="rating"\\} (\\S+)$`, 'm').exec(text);
    assert.ok(m, `${name} missing`);
    return Number(m[1]);
  };
  await new Promise((resolve) => setTimeout(resolve, 1)); // the loop has started: ELU counts
  const first = await metrics.metrics();
  const spinUntil = performance.now() + 30;
  while (performance.now() < spinUntil); // 30 ms of callback time on the loop
  await new Promise((resolve) => setTimeout(resolve, 20)); // a sleep: a voluntary switch
  const second = await metrics.metrics();
  const active = 'nodejs_eventloop_active_seconds_total';
  const voluntary = 'process_voluntary_context_switches_total';
  const busy = value(second, active) - value(first, active);
  assert.ok(busy >= 0.025, `event loop busy ${busy} s`);
  assert.ok(value(second, voluntary) > value(first, voluntary));
  assert.ok(value(second, 'process_involuntary_context_switches_total') >= 0);
  assert.match(second, /^# TYPE process_voluntary_context_switches_total counter$/m);
});

test('asking twice for a metric returns the same one; another type is refused', () => {
  const metrics = new MetricsRegistry({ serviceName: 's', collectDefaultMetrics: false });
  const a = metrics.counter({ name: 'x_total', help: 'x' });
  const b = metrics.counter({ name: 'x_total', help: 'x' });
  assert.equal(a, b);
  assert.throws(
    () => metrics.gauge({ name: 'x_total', help: 'x' }),
    (error: unknown) =>
      error instanceof ObservabilityError && error.code === 'METRIC_TYPE_CONFLICT',
  );
});

test('two registries in one process do not collide', async () => {
  const one = new MetricsRegistry({ serviceName: 'a' });
  const two = new MetricsRegistry({ serviceName: 'a' });
  one.counter({ name: 'c_total', help: 'c' }).inc();
  assert.doesNotMatch(await two.metrics(), /a_c_total/);
});
