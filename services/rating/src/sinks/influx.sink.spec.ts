import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsRegistry, createRootLogger } from '@metering/observability';
import { InfluxSink } from './influx.sink';
import { InfluxWriteError, type LineWriter } from './influx.writer';

const logger = createRootLogger({ serviceName: 'test', level: 'silent' });

class FakeWriter implements LineWriter {
  readonly requests: string[][] = [];
  failures: InfluxWriteError[] = [];
  write(lines: readonly string[]): Promise<void> {
    const failure = this.failures.shift();
    if (failure !== undefined) return Promise.reject(failure);
    this.requests.push([...lines]);
    return Promise.resolve();
  }
  get lines(): string[] {
    return this.requests.flat();
  }
}

function sink(writer: LineWriter, over: Partial<ConstructorParameters<typeof InfluxSink>[1]> = {}) {
  const metrics = new MetricsRegistry({ serviceName: 'rating', collectDefaultMetrics: false });
  const s = new InfluxSink(
    writer,
    {
      batchSize: 3,
      flushIntervalMs: 10,
      maxBufferedPoints: 100,
      retryInitialDelayMs: 5,
      retryMaxDelayMs: 20,
      ...over,
    },
    metrics,
    logger,
  );
  const value = async (name: string) =>
    (await metrics.registry.getSingleMetric(`rating_${name}`)?.get())?.values[0]?.value ?? 0;
  return { s, value };
}

const points = (keys: string[], version = 1) =>
  keys.map((key) => ({ key, line: `${key} v=${version}` }));

describe('InfluxSink', () => {
  test('writes in batches of at most batchSize; a later point of a series replaces an earlier one', async () => {
    const writer = new FakeWriter();
    const { s } = sink(writer);
    s.enqueue(points(['a', 'b']));
    s.enqueue(points(['a', 'c', 'd', 'e'], 2));
    assert.ok(await s.drain(1_000));
    assert.ok(writer.requests.every((r) => r.length <= 3));
    assert.deepEqual(writer.lines.sort(), ['a v=2', 'b v=1', 'c v=2', 'd v=2', 'e v=2']);
  });

  test('InfluxDB down: failures are counted and retried with backoff, nothing lost within the bound', async () => {
    const writer = new FakeWriter();
    const { s, value } = sink(writer);
    const down = () => new InfluxWriteError('unreachable', true, null);
    writer.failures = [down(), down(), down()];
    s.enqueue(points(['a', 'b']));
    assert.ok(await s.drain(2_000));
    assert.deepEqual(writer.lines.sort(), ['a v=1', 'b v=1']);
    assert.equal(await value('influx_write_failures_total'), 3);
    assert.equal(await value('influx_points_written_total'), 2);
  });

  test('the buffer is bounded: the oldest points go first, and are counted', async () => {
    const writer = new FakeWriter();
    const { s, value } = sink(writer, { maxBufferedPoints: 4, batchSize: 100 });
    writer.failures = [new InfluxWriteError('down', true, 503)];
    s.enqueue(points(['1', '2', '3', '4', '5', '6']));
    assert.equal(await value('influx_points_dropped_total'), 2);
    assert.ok(await s.drain(2_000));
    assert.deepEqual(writer.lines, ['3 v=1', '4 v=1', '5 v=1', '6 v=1']);
  });

  test('points InfluxDB refuses as invalid are dropped, not retried forever', async () => {
    const writer = new FakeWriter();
    const { s, value } = sink(writer);
    writer.failures = [new InfluxWriteError('field type conflict', false, 400)];
    s.enqueue(points(['x']));
    assert.ok(await s.drain(1_000));
    assert.equal(writer.lines.length, 0);
    assert.equal(await value('influx_points_dropped_total'), 1);
    assert.equal(await value('influx_write_failures_total'), 1);
  });

  test('enqueue never waits for InfluxDB', () => {
    const writer: LineWriter = { write: () => new Promise(() => undefined) };
    const { s } = sink(writer);
    const started = process.hrtime.bigint();
    for (let i = 0; i < 1_000; i++) s.enqueue(points([`k${i}`]));
    assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 1_000);
    assert.equal(s.pending <= 100, true);
  });
});
