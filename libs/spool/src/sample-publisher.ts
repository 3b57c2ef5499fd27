import { setTimeout as sleep } from 'node:timers/promises';
import { type SampleEvent } from '@metering/contracts';
import { type HostKeyFileSetting, KafkaClientFactory, type KafkaConfig } from '@metering/kafka';
import { type HealthIndicator, type Logger, type MetricsRegistry } from '@metering/observability';
import { hostSigner } from './host-signer';
import { kafkaSpoolProducer } from './spool-producer';
import { type SpoolSettings } from './spool.config';
import { SpooledPublisher } from './spooled-publisher';

/** Injection token of the collectors' SamplePublisher. */
export const SAMPLE_PUBLISHER = Symbol('SAMPLE_PUBLISHER');

/**
 * Where a collector's samples go. In production the spool (SpooledSamplePublisher): publish
 * never blocks, samples are durable on disk and reach Kafka in order, key = resource id.
 */
export interface SamplePublisher {
  /**
   * Validates the sample against the contract (throws ContractViolationError, publishing
   * nothing) and hands it over; never blocks on Kafka. Answers the record's value when it made
   * one (the sample's JSON, not to be modified), so that a caller keeping the sample on disk need
   * not encode it again.
   */
  publish(sample: SampleEvent): Buffer | void;
  /** Waits until what was handed over is acknowledged by Kafka: true, or false at the timeout. */
  flush(timeoutMs: number): Promise<boolean>;
  /** Stops; keeps sending for at most `timeoutMs`, what is left stays on disk for the next start. */
  close(timeoutMs: number): Promise<void>;
  /** Samples handed over and not yet acknowledged by Kafka. */
  depth(): number;
  /**
   * For readiness (/readyz, /healthz): down when samples are at risk (the spool cannot be
   * written); `degraded` (Kafka away, samples spooling) reports as up, with the detail.
   */
  healthIndicator(): HealthIndicator;
  /** For liveness (/livez): down only when forwarding stopped for good and a restart cures it. */
  livenessIndicator(): HealthIndicator;
}

export interface SpooledSamplePublisherOptions {
  /**
   * Creates the samples topic if it is missing. Tried until it succeeds (every `retryMs`), so a
   * collector started while Kafka is down needs nothing done when Kafka comes. Absent: the
   * topic is left to whoever provisions Kafka.
   */
  readonly ensureTopic?: () => Promise<unknown>;
  readonly logger?: Logger;
  /** Default 10 s. */
  readonly retryMs?: number;
}

/**
 * The SamplePublisher of the spool: publish() validates, encodes and queues (never waits for
 * Kafka or the disk); a bounded on-disk spool that survives restarts; one forwarder sending to
 * Kafka in order, acks=all, key = resource id. When the spool is full the oldest `running`
 * samples are thinned, never `start` or `final` ones.
 */
export class SpooledSamplePublisher implements SamplePublisher {
  private readonly stop = new AbortController();
  private readonly topicReady: Promise<void>;

  constructor(
    private readonly spool: SpooledPublisher,
    options: SpooledSamplePublisherOptions = {},
  ) {
    const { ensureTopic, logger, retryMs = 10_000 } = options;
    this.topicReady =
      ensureTopic === undefined
        ? Promise.resolve()
        : (async () => {
            for (let attempt = 1; !this.stop.signal.aborted; attempt += 1) {
              try {
                await ensureTopic();
                return;
              } catch (error) {
                if (attempt === 1 || attempt % 10 === 0) {
                  logger?.warn(
                    { err: error, attempt },
                    'cannot ensure the samples topic yet; retrying',
                  );
                }
              }
              await sleep(retryMs, undefined, { signal: this.stop.signal }).catch(() => undefined);
            }
          })();
  }

  publish(sample: SampleEvent): Buffer {
    return this.spool.publish(sample);
  }

  flush(timeoutMs: number): Promise<boolean> {
    return this.spool.flush(timeoutMs);
  }

  async close(timeoutMs: number): Promise<void> {
    this.stop.abort();
    await this.topicReady;
    await this.spool.close(timeoutMs);
  }

  depth(): number {
    return this.spool.depth();
  }

  healthIndicator(): HealthIndicator {
    return this.spool.healthIndicator();
  }

  livenessIndicator(): HealthIndicator {
    return this.spool.livenessIndicator();
  }
}

/** What startSamplePublisher reads of a collector's configuration. */
export interface SamplePublisherSettings {
  /** KAFKA_* settings of @metering/kafka. */
  readonly kafka: KafkaConfig;
  /** The per-host sample key (ADR 0010), or null: samples unsigned. */
  readonly hostKey: HostKeyFileSetting | null;
  readonly topic: string;
  /** SPOOL_* settings. */
  readonly spool: { readonly dir: string; readonly settings: SpoolSettings };
  /**
   * Partitions to create the topic with when it is missing (docker-collector's
   * SAMPLES_TOPIC_PARTITIONS). Absent: the publisher never creates the topic (vm-collector).
   */
  readonly topicPartitions?: number;
}

export interface SamplePublisherDeps {
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
}

/**
 * Opens the spool (resuming what a previous run left there) and starts forwarding to Kafka.
 * Succeeds while Kafka is down: sampling must not wait for it.
 */
export async function startSamplePublisher(
  settings: SamplePublisherSettings,
  deps: SamplePublisherDeps,
): Promise<SamplePublisher> {
  const kafka = new KafkaClientFactory(settings.kafka, deps);
  const spool = await SpooledPublisher.start({
    dir: settings.spool.dir,
    producer: kafkaSpoolProducer(kafka, {
      maxBatchRecords: settings.spool.settings.maxBatchRecords,
    }),
    topic: settings.topic,
    settings: settings.spool.settings,
    logger: deps.logger,
    metrics: deps.metrics,
    ...(settings.hostKey === null ? {} : { sign: hostSigner(settings.hostKey, deps.logger) }),
  });
  const partitions = settings.topicPartitions;
  return new SpooledSamplePublisher(spool, {
    logger: deps.logger,
    ...(partitions === undefined
      ? {}
      : {
          ensureTopic: () =>
            kafka.ensureTopics([{ topic: settings.topic, numPartitions: partitions }]),
        }),
  });
}
