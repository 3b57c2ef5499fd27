import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Kafka, type ProducerBatch, type ProducerConfig } from 'kafkajs';
import { createRootLogger, MetricsRegistry } from '@metering/observability';
import { ProducerClosedError, ProducerNotConnectedError } from './kafka.errors';
import { KafkaMetrics } from './kafka.metrics';
import { KafkaProducer, type KafkaProducerOptions } from './kafka-producer';

/** Stands in for kafkajs's producer: records batches, acknowledges when told to. */
class FakeProducer {
  readonly batches: ProducerBatch[] = [];
  config: ProducerConfig | undefined;
  autoAck = true;
  failNext: Error | undefined;
  disconnected = false;
  private readonly waiting: (() => void)[] = [];

  connect(): Promise<void> {
    return Promise.resolve();
  }

  disconnect(): Promise<void> {
    this.disconnected = true;
    return Promise.resolve();
  }

  async sendBatch(batch: ProducerBatch): Promise<void> {
    this.batches.push(batch);
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    if (!this.autoAck) await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  ackAll(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

async function setup(options: KafkaProducerOptions = {}) {
  const fake = new FakeProducer();
  const kafka = {
    producer: (config: ProducerConfig) => {
      fake.config = config;
      return fake;
    },
  } as unknown as Kafka;
  const registry = new MetricsRegistry({ serviceName: 'test', collectDefaultMetrics: false });
  const producer = new KafkaProducer(kafka, options, {
    logger: createRootLogger({ level: 'silent' }),
    metrics: new KafkaMetrics(registry),
  });
  await producer.connect();
  return { fake, producer, registry };
}

const messages = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => ({ key: prefix, value: `${prefix}-${i}` }));

const values = (batch: ProducerBatch | undefined) =>
  (batch?.topicMessages ?? []).flatMap((t) =>
    t.messages.map((m) => `${t.topic}:${String(m.value)}`),
  );

test('the kafkajs producer is idempotent with one request in flight and acks=all', async () => {
  const { fake, producer } = await setup();
  await producer.send('t', messages('a', 1));
  assert.equal(fake.config?.idempotent, true);
  assert.equal(fake.config?.maxInFlightRequests, 1);
  assert.equal(fake.batches[0]?.acks, -1);
});

test('sends within the linger time share one batch, across topics', async () => {
  const { fake, producer } = await setup({ lingerMs: 20 });
  await Promise.all([producer.send('t1', messages('a', 2)), producer.send('t2', messages('b', 1))]);
  assert.equal(fake.batches.length, 1);
  assert.deepEqual(values(fake.batches[0]), ['t1:a-0', 't1:a-1', 't2:b-0']);
});

test('reaching maxBatchSize sends at once and never exceeds it', async () => {
  const { fake, producer } = await setup({ maxBatchSize: 3, lingerMs: 60_000 });
  const sends = [1, 2, 3, 4].map((i) => producer.send('t', messages(`k${i}`, 1)));
  await Promise.all(sends.slice(0, 3));
  assert.deepEqual(values(fake.batches[0]), ['t:k1-0', 't:k2-0', 't:k3-0']);
  assert.equal(producer.pendingMessages, 1);
  await producer.flush();
  await sends[3];
  assert.deepEqual(values(fake.batches[1]), ['t:k4-0']);
});

test('a send() is resolved only after its batch is acknowledged', async () => {
  const { fake, producer } = await setup({ lingerMs: 1 });
  fake.autoAck = false;
  let acked = false;
  const sent = producer.send('t', messages('a', 1)).then(() => (acked = true));
  await sleep(20);
  assert.equal(fake.batches.length, 1);
  assert.equal(acked, false);
  fake.ackAll();
  await sent;
  assert.equal(acked, true);
});

test('batches go out one at a time, in send order', async () => {
  const { fake, producer } = await setup({ lingerMs: 1 });
  fake.autoAck = false;
  const first = producer.send('t', messages('a', 1));
  await sleep(10);
  const second = producer.send('t', messages('b', 1));
  await sleep(10);
  assert.equal(fake.batches.length, 1, 'the second batch waits for the first');
  fake.ackAll();
  await first;
  await sleep(10);
  fake.ackAll();
  await second;
  assert.deepEqual(fake.batches.map(values), [['t:a-0'], ['t:b-0']]);
});

test('a failed batch rejects its senders, counts the error and does not stop the next', async () => {
  const { fake, producer, registry } = await setup({ lingerMs: 1 });
  fake.failNext = Object.assign(new Error('MESSAGE_TOO_LARGE'), { retriable: false });
  await assert.rejects(producer.send('t', messages('big', 2)), /MESSAGE_TOO_LARGE/);
  await producer.send('t', messages('ok', 1));
  const text = await registry.metrics();
  assert.match(
    text,
    /test_kafka_produce_errors_total\{topic="t",retriable="false",service="test"\} 2/,
  );
  assert.match(text, /test_kafka_messages_produced_total\{topic="t",service="test"\} 1/);
});

test('disconnect flushes queued messages, then refuses new ones', async () => {
  const { fake, producer } = await setup({ lingerMs: 60_000 });
  const pending = producer.send('t', messages('a', 2));
  await producer.disconnect();
  await pending;
  assert.deepEqual(values(fake.batches[0]), ['t:a-0', 't:a-1']);
  assert.ok(fake.disconnected);
  await assert.rejects(producer.send('t', messages('late', 1)), ProducerClosedError);
  await producer.disconnect(); // twice is harmless
});

test('disconnect gives up after its timeout and rejects what is still queued', async () => {
  const { fake, producer } = await setup({ maxBatchSize: 1, lingerMs: 60_000 });
  fake.autoAck = false;
  const inFlight = producer.send('t', messages('a', 1));
  const queued = producer.send('t', messages('b', 1));
  const queuedResult = assert.rejects(queued, ProducerClosedError);
  await producer.disconnect({ timeoutMs: 30 });
  await queuedResult;
  assert.ok(fake.disconnected);
  fake.ackAll();
  await inFlight;
});

test('send before connect is refused', async () => {
  const kafka = { producer: () => new FakeProducer() } as unknown as Kafka;
  const producer = new KafkaProducer(
    kafka,
    {},
    { logger: createRootLogger({ level: 'silent' }), metrics: new KafkaMetrics() },
  );
  await assert.rejects(producer.send('t', messages('a', 1)), ProducerNotConnectedError);
});
