import { KafkaClientFactory, type ConsumedMessage } from '@metering/kafka';
import { MetricsRegistry } from '@metering/observability';
import { uniqueName, waitFor } from '@metering/testing';
import { setTimeout as sleep } from 'node:timers/promises';
import { kafkaTestLogger, summarise, type SampleSummary } from './spool.fixtures';

export interface TestKafka {
  factory: KafkaClientFactory;
  metrics: MetricsRegistry;
  topic: string;
}

/** A client factory on `brokers` and a fresh topic name for one test. */
export function testKafka(name: string, brokers: readonly string[]): TestKafka {
  const metrics = new MetricsRegistry({ serviceName: 'spool_test', collectDefaultMetrics: false });
  const factory = new KafkaClientFactory(
    {
      brokers,
      clientId: uniqueName(`${name}_client`).replace(/_/g, '-'),
      connectionTimeoutMs: 1_000,
      requestTimeoutMs: 10_000,
      retry: { initialRetryTimeMs: 100, maxRetryTimeMs: 1_000, retries: 3 },
    },
    { logger: kafkaTestLogger(), metrics },
  );
  return { factory, metrics, topic: uniqueName(`${name}_topic`) };
}

export interface ReadBack {
  /** Per resource id, in the order the partition holds them. */
  byKey: Map<string, SampleSummary[]>;
  all: SampleSummary[];
}

/**
 * Reads the whole topic with a fresh group until `expected` messages arrived, then keeps
 * listening for `settleMs` more so that duplicates would show up in the count.
 */
export async function readBack(
  factory: KafkaClientFactory,
  topic: string,
  expected: number,
  settleMs = 2_000,
): Promise<ReadBack> {
  const received: ConsumedMessage[] = [];
  const consumer = factory.createConsumer({
    groupId: uniqueName('spool_readback'),
    topics: [topic],
    shutdownSignals: [],
  });
  try {
    await consumer.start((batch) => {
      received.push(...batch.messages);
      return Promise.resolve();
    });
    await waitFor(() => received.length >= expected, {
      timeoutMs: 60_000,
      description: `${expected} messages on ${topic} (have ${received.length})`,
    });
    await sleep(settleMs);
  } finally {
    await consumer.disconnect();
  }
  const byKey = new Map<string, SampleSummary[]>();
  const all: SampleSummary[] = [];
  for (const message of received) {
    const sample = summarise(message.value!);
    if (message.key?.toString() !== sample.resourceId) {
      throw new Error(
        `message key ${String(message.key)} is not the resource id ${sample.resourceId}`,
      );
    }
    all.push(sample);
    byKey.set(sample.resourceId, [...(byKey.get(sample.resourceId) ?? []), sample]);
  }
  return { byKey, all };
}
