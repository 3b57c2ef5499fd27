import { performance } from 'node:perf_hooks';
import {
  CompressionTypes,
  type IHeaders,
  type Kafka,
  type Producer,
  type RetryOptions,
  type TopicMessages,
} from 'kafkajs';
import { createLogger, type Logger } from '@metering/observability/logging';
import { isRetriable } from './kafka-error.classifier';
import { Murmur2Partitioner } from './murmur2.partitioner';
import { ProducerClosedError, ProducerNotConnectedError } from './kafka.errors';
import { type KafkaMetrics } from './kafka.metrics';

export interface OutgoingMessage {
  /** Partitioning key: same key, same partition, so per-key order is kept. */
  key: string | Buffer | null;
  value: string | Buffer | null;
  headers?: IHeaders;
  /** Forces a partition; leave unset to partition by key. */
  partition?: number;
  /** Epoch milliseconds as a string, kafkajs's format; default: now. */
  timestamp?: string;
}

export interface KafkaProducerOptions {
  /** Messages per produce request; reaching it sends at once. Default 500. */
  maxBatchSize?: number;
  /** How long the first queued message waits for others to join its batch. Default 5 ms. */
  lingerMs?: number;
  /** Default none: samples are small and CPU on collector hosts is the customers'. */
  compression?: CompressionTypes;
  /** Broker-side time to reach all in-sync replicas. Default 30 s. */
  ackTimeoutMs?: number;
  /**
   * Default: the client's backoff with unbounded retries, which idempotence needs: a send
   * given up and sent again gets a new sequence number and may be written twice (kafkajs
   * warns about fewer retries). A transient outage then delays send() rather than failing
   * it. A collector with a local spool may set a bound and spool what fails.
   */
  retry?: RetryOptions;
}

export interface ProducerDisconnectOptions {
  /** How long to wait for queued messages to be acknowledged. Default 30 s. */
  timeoutMs?: number;
}

interface PendingSend {
  topic: string;
  messages: readonly OutgoingMessage[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

type ProducerState = 'new' | 'connected' | 'closing' | 'closed';

/**
 * An idempotent kafkajs producer with acks=all and a small in-memory batcher: send()
 * queues, and a batch goes out when it reaches maxBatchSize or lingerMs after its first
 * message. send() resolves when the brokers have acknowledged its messages.
 *
 * Order: batches are sent one at a time and the connection allows one request in flight,
 * so messages with the same key reach the partition in send() order. If a batch fails
 * (after kafkajs's retries), its senders get the error and later batches still go out.
 */
export class KafkaProducer {
  private readonly producer: Producer;
  private readonly logger: Logger;
  private readonly maxBatchSize: number;
  private readonly lingerMs: number;
  private readonly compression: CompressionTypes;
  private readonly ackTimeoutMs: number;

  private state: ProducerState = 'new';
  private queue: PendingSend[] = [];
  private queuedMessages = 0;
  private lingerTimer: NodeJS.Timeout | undefined;
  /** Tail of the chain of batch sends; each link takes from the queue when it runs. */
  private sending: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(
    kafka: Kafka,
    options: KafkaProducerOptions,
    private readonly deps: { logger: Logger; metrics: KafkaMetrics },
  ) {
    this.maxBatchSize = options.maxBatchSize ?? 500;
    this.lingerMs = options.lingerMs ?? 5;
    this.compression = options.compression ?? CompressionTypes.None;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
    if (!Number.isInteger(this.maxBatchSize) || this.maxBatchSize < 1) {
      throw new RangeError(`maxBatchSize must be a whole number ≥ 1, got ${this.maxBatchSize}`);
    }
    this.logger = createLogger('KafkaProducer', { parent: deps.logger });
    this.producer = kafka.producer({
      idempotent: true,
      // kafkajs assigns sequence numbers when a request is sent and advances them only on
      // success; a second request in flight to the same partition could reuse a number.
      // One in flight is what kafkajs's idempotence is safe with.
      maxInFlightRequests: 1,
      // Topics are created by ensureTopics with their partition count, never implicitly.
      allowAutoTopicCreation: false,
      // murmur2 like the Java client, so other producers put a key on the same partition:
      // kafkajs's DefaultPartitioner in 32-bit arithmetic (murmur2.partitioner.ts). Named
      // explicitly: kafkajs warns on every producer when the choice is left implicit.
      createPartitioner: Murmur2Partitioner,
      // kafkajs would otherwise apply the client's bounded retries to this producer too.
      retry: options.retry ?? { retries: Number.MAX_SAFE_INTEGER },
    });
  }

  async connect(): Promise<void> {
    if (this.state !== 'new') return;
    await this.producer.connect();
    this.state = 'connected';
  }

  /** Resolves once every message is acknowledged by all in-sync replicas. */
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') {
      return Promise.reject(new ProducerClosedError());
    }
    if (this.state === 'new') return Promise.reject(new ProducerNotConnectedError());
    if (messages.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, messages, resolve, reject });
      this.queuedMessages += messages.length;
      if (this.queuedMessages >= this.maxBatchSize) {
        this.scheduleBatch();
      } else if (this.lingerTimer === undefined) {
        this.lingerTimer = setTimeout(() => {
          this.lingerTimer = undefined;
          this.scheduleBatch();
        }, this.lingerMs);
      }
    });
  }

  /** Sends everything queued now, without waiting for the linger time. */
  async flush(): Promise<void> {
    this.clearLinger();
    while (this.queue.length > 0) {
      this.scheduleBatch();
      await this.sending;
    }
    await this.sending;
  }

  /**
   * Flushes queued messages, then disconnects. Sends queued when the timeout expires are
   * rejected with ProducerClosedError. Safe to call more than once.
   */
  disconnect(options: ProducerDisconnectOptions = {}): Promise<void> {
    this.closing ??= this.close(options.timeoutMs ?? 30_000);
    return this.closing;
  }

  /** Messages accepted by send() and not yet acknowledged or failed. */
  get pendingMessages(): number {
    return this.queuedMessages;
  }

  private async close(timeoutMs: number): Promise<void> {
    const wasConnected = this.state === 'connected';
    this.state = 'closing';
    if (wasConnected) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      const outcome = await Promise.race([this.flush().then(() => 'flushed' as const), timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        this.logger.error(
          { pendingMessages: this.queuedMessages, timeoutMs },
          'disconnecting with unacknowledged messages',
        );
      }
    }
    this.clearLinger();
    for (const pending of this.queue.splice(0)) {
      pending.reject(new ProducerClosedError('the producer disconnected before sending'));
    }
    this.queuedMessages = 0;
    await this.producer.disconnect();
    this.state = 'closed';
  }

  private scheduleBatch(): void {
    this.sending = this.sending.then(() => this.sendNextBatch());
  }

  /** Takes whole send() calls from the queue up to maxBatchSize messages (at least one). */
  private takeBatch(): PendingSend[] {
    const batch: PendingSend[] = [];
    let size = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (batch.length > 0 && size + next.messages.length > this.maxBatchSize) break;
      batch.push(next);
      size += next.messages.length;
      this.queue.shift();
    }
    this.queuedMessages -= size;
    if (this.queue.length === 0) this.clearLinger();
    return batch;
  }

  private async sendNextBatch(): Promise<void> {
    const batch = this.takeBatch();
    if (batch.length === 0) return;

    const byTopic = new Map<string, OutgoingMessage[]>();
    for (const { topic, messages } of batch) {
      const list = byTopic.get(topic) ?? [];
      list.push(...messages);
      byTopic.set(topic, list);
    }
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({
      topic,
      messages: messages.map((message) => ({ ...message })),
    }));

    const started = performance.now();
    try {
      await this.producer.sendBatch({
        topicMessages,
        acks: -1,
        timeout: this.ackTimeoutMs,
        compression: this.compression,
      });
      const seconds = (performance.now() - started) / 1000;
      for (const [topic, messages] of byTopic) {
        this.deps.metrics.produced(topic, messages.length);
        this.deps.metrics.batch('producer', topic, seconds);
      }
      for (const pending of batch) pending.resolve();
    } catch (error) {
      const retriable = isRetriable(error);
      for (const [topic, messages] of byTopic) {
        this.deps.metrics.produceFailed(topic, retriable, messages.length);
      }
      this.logger.error({ err: error, topics: [...byTopic.keys()], retriable }, 'produce failed');
      for (const pending of batch) pending.reject(error);
    } finally {
      // Messages that arrived while this batch was in flight and already fill a batch go
      // now; a smaller remainder waits for its linger timer.
      if (this.queuedMessages >= this.maxBatchSize) this.scheduleBatch();
      else if (this.queue.length > 0 && this.lingerTimer === undefined) {
        this.lingerTimer = setTimeout(() => {
          this.lingerTimer = undefined;
          this.scheduleBatch();
        }, this.lingerMs);
      }
    }
  }

  private clearLinger(): void {
    if (this.lingerTimer !== undefined) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
    }
  }
}
