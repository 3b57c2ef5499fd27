/* eslint-disable max-lines -- Long because: the whole lifecycle (ledger, Kafka clients, outbox,
 * pricing stage, InfluxDB, processor, metrics, health) is wired in one place. */
import {
  type KafkaAdmin,
  type KafkaClientFactory,
  type KafkaConsumer,
  type KafkaProducer,
} from '@metering/kafka';
import { migrateLedgerForApp } from '@metering/ledger';
import {
  type Counter,
  type HealthIndicator,
  type Histogram,
  type Logger,
  type MetricsRegistry,
  createLogger,
} from '@metering/observability';
import { type RatingConfig } from '../config';
import { RatingLedger } from '../ledger/rating-ledger';
import { PricingStage } from '../pricing/pricing.stage';
import { TenantCatalog } from '../pricing/tenant-catalog';
import { UsageEventOutbox } from '../publishing/usage-event.outbox';
import { UsageProducerThread } from '../publishing/usage-producer.thread';
import { InfluxOutputs, NO_INFLUX } from '../sinks/influx-outputs';
import { InfluxSink } from '../sinks/influx.sink';
import { InfluxHttpWriter } from '../sinks/influx.writer';
import { contractDeadLetterEncoder } from './dead-letter.encoder';
import { BatchFingerprints } from './message-fingerprint';
import { OffsetContinuityGuard } from './offset-continuity.guard';
import { PartitionFailures } from './partition-failures';
import {
  type BatchOutcome,
  type CommittedBatchSink,
  SampleBatchProcessor,
} from './sample-batch.processor';

/**
 * The rating pipeline's lifecycle: migrate the ledger, ensure the topics, then consume the
 * samples topic with positions taken from the ledger on every assignment, and rate each batch
 * in one transaction. Nothing here decides money: that is the domain's and the processor's job.
 */
export class RatingRunner {
  private readonly logger: Logger;
  private ledger: RatingLedger | undefined;
  private producer: KafkaProducer | undefined;
  private usageProducer: UsageProducerThread | undefined;
  private usageOutbox: UsageEventOutbox | undefined;
  private pricing: PricingStage | undefined;
  private influx: InfluxSink | undefined;
  private consumer: KafkaConsumer | undefined;
  private admin: KafkaAdmin | undefined;
  private continuity: OffsetContinuityGuard | undefined;
  private readonly batches: Counter;
  private readonly messages: Counter;
  private readonly deadLettered: Counter;
  private readonly clipped: Counter;
  private readonly clippedCpu: Counter;
  private readonly repriced: Counter;
  private readonly batchSeconds: Histogram;
  private readonly lag: ReturnType<MetricsRegistry['gauge']>;
  private readonly batchSize: Histogram;
  private readonly phaseSeconds: Histogram<'phase'>;
  private readonly isolating: Counter;
  private readonly batchFailures: Counter;
  private readonly failures: PartitionFailures;

  constructor(
    private readonly config: RatingConfig,
    private readonly kafka: KafkaClientFactory,
    private readonly metrics: MetricsRegistry,
    private readonly rootLogger: Logger,
  ) {
    this.logger = createLogger('RatingRunner', { parent: rootLogger });
    this.batches = metrics.counter({
      name: 'batches_total',
      help: 'Batches committed to the ledger',
    });
    this.messages = metrics.counter({
      name: 'messages_total',
      help: 'Consumed sample messages by outcome',
      labelNames: ['outcome'],
    });
    this.deadLettered = metrics.counter({
      name: 'dead_lettered_total',
      help: 'Samples sent to the DLQ',
    });
    this.clipped = metrics.counter({
      name: 'clipped_intervals_total',
      help: 'Samples accounting for more than MAX_INTERVAL_MS: only the last part was rated',
    });
    this.repriced = metrics.counter({
      name: 'repriced_months_total',
      help: 'Tenant months priced again after their plan assignments changed',
    });
    this.clippedCpu = metrics.counter({
      name: 'clipped_cpu_core_seconds_total',
      help: 'CPU of the parts beyond MAX_INTERVAL_MS, reported and not rated',
    });
    this.batchSeconds = metrics.histogram({
      name: 'batch_duration_seconds',
      help: 'Time to rate and commit one partition batch',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    });
    this.batchSize = metrics.histogram({
      name: 'batch_size_messages',
      help: 'Messages per partition batch (including ones already in the ledger)',
      buckets: [1, 10, 100, 500, 1_000, 2_500, 5_000, 10_000, 25_000],
    });
    this.phaseSeconds = metrics.histogram({
      name: 'batch_phase_seconds',
      help: 'Time per phase of a batch: prepare (decode, rate, instance states, plan), write (ledger and Kafka acknowledgements), commit',
      labelNames: ['phase'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    });
    this.isolating = metrics.counter({
      name: 'batch_isolations_total',
      help: 'Batches split because they failed for a reason that is not the infrastructure (a message may be to blame)',
    });
    this.batchFailures = metrics.counter({
      name: 'batch_failures_total',
      help: 'Batch attempts that failed and will be retried from the stored offset',
    });
    this.failures = new PartitionFailures(config.partitionStallMs);
    const failures = this.failures;
    metrics.gauge({
      name: 'partition_failing_seconds',
      help: 'How long each partition whose batches keep failing has been failing (absent: none is)',
      labelNames: ['topic', 'partition'],
      collect() {
        this.reset();
        for (const f of failures.failing(Date.now())) {
          this.set({ topic: f.topic, partition: String(f.partition) }, f.failingSeconds);
        }
      },
    });
    metrics.gauge({
      name: 'failing_partitions',
      help: 'Partitions whose batches are failing now (retried from the stored offset)',
      collect() {
        this.set(failures.failing(Date.now()).length);
      },
    });
    this.lag = metrics.gauge({
      name: 'consumer_lag_messages',
      help: 'High watermark minus the next offset, per partition, after the last batch',
      labelNames: ['topic', 'partition'],
    });
  }

  async start(): Promise<void> {
    const { config } = this;
    this.ledger = RatingLedger.create({
      url: config.database.url,
      schema: config.database.schema,
      poolSize: config.database.poolSize,
      applicationName: 'rating',
    });
    if (config.migrateOnStart) {
      // As the owner on a connection of its own when DATABASE_MIGRATION_URL is set.
      const { url, migrationUrl, schema } = config.database;
      const applied = await migrateLedgerForApp({
        url,
        migrationUrl,
        schema,
        applicationName: 'rating',
      });
      if (applied.length > 0) this.logger.info({ applied }, 'ledger migrations applied');
    }
    await this.ledger.connect();

    // Kept connected: offset continuity reads the samples topic's watermarks at every assignment.
    const admin = this.kafka.createAdmin();
    this.admin = admin;
    await admin.connect();
    await admin.ensureTopics([
      { topic: config.samplesTopic, numPartitions: config.samplesTopicPartitions },
      { topic: config.samplesDlqTopic, numPartitions: config.samplesTopicPartitions },
      { topic: config.usage.topic, numPartitions: config.usage.partitions },
    ]);
    // Not allowed to describe the topic (ACLs): the configured bounds apply as they are.
    const dlqMaxMessageBytes = await admin
      .maxMessageBytes(config.samplesDlqTopic)
      .catch((error: unknown) => {
        this.logger.warn({ err: error }, "DLQ topic's max.message.bytes unread; DLQ_MAX_* apply");
        return null;
      });

    const fingerprints = new BatchFingerprints();
    const ledger = this.ledger.stores(fingerprints);
    const continuity = new OffsetContinuityGuard(
      ledger.offsets,
      admin,
      this.metrics,
      this.rootLogger,
      { groupId: config.groupId, topic: config.samplesTopic, pollMs: config.offsetDecisionPollMs },
    );
    this.continuity = continuity;
    this.producer = this.kafka.createProducer();
    await this.producer.connect();
    const deadLetters = this.kafka.createDeadLetterPublisher(this.producer, {
      topic: config.samplesDlqTopic,
      encode: contractDeadLetterEncoder('rating', () => new Date()),
      ...config.deadLetters,
      ...(dlqMaxMessageBytes === null ? {} : { topicMaxMessageBytes: dlqMaxMessageBytes }),
    });
    this.logger.info({ ...deadLetters.limits, dlqMaxMessageBytes }, 'dead letters bounded');
    // Encoding Kafka records costs about as much as rating: the usage events are produced on a
    // thread of their own.
    const usageProducer = new UsageProducerThread(
      {
        // The whole Kafka config (TLS, SASL too): the thread makes its own client from it.
        kafka: { ...config.kafka, clientId: `${config.kafka.clientId}-usage` },
        topic: config.usage.topic,
        compression: config.usage.compression,
        requestMaxBytes: config.usage.requestMaxBytes,
        producers: config.usage.producers,
        logLevel: config.logLevel,
      },
      this.rootLogger,
    );
    this.usageProducer = usageProducer;
    await usageProducer.start();
    const usageEvents = new UsageEventOutbox(
      ledger.outbox,
      usageProducer,
      this.metrics,
      this.rootLogger,
      {
        sweepMs: config.usage.sweepMs,
        maxInFlight: 8,
      },
    );
    this.usageOutbox = usageEvents;
    const catalog = new TenantCatalog(ledger.catalog, {
      ttlMs: config.tenantCatalogTtlMs,
      defaultTimeZone: config.defaultTimeZone,
      defaultCurrency: config.defaultCurrency,
      comparePriced: true,
    });
    let committedSink: CommittedBatchSink = NO_INFLUX;
    if (config.influx.target !== null) {
      const writer = new InfluxHttpWriter(config.influx.target, config.influx.timeoutMs);
      this.influx = new InfluxSink(
        writer,
        {
          batchSize: config.influx.batchSize,
          flushIntervalMs: config.influx.flushIntervalMs,
          maxBufferedPoints: config.influx.maxBufferedPoints,
          retryMaxDelayMs: config.influx.retryMaxDelayMs,
        },
        this.metrics,
        this.rootLogger,
      );
      this.influx.start();
      committedSink = new InfluxOutputs(
        this.influx,
        catalog,
        config.influx.resourceGauges,
        this.rootLogger,
      );
      this.logger.info({ influx: writer.description }, 'InfluxDB sink on');
    }
    // Charges, positions and usage windows: priced per tenant month after the batches commit.
    const influxOut = committedSink;
    const pricing = new PricingStage(
      ledger.pricing,
      catalog,
      usageEvents,
      {
        priced: ({ buckets, position }) =>
          influxOut.committed({
            buckets,
            positions: position === null ? [] : [position],
            rated: [],
            months: [],
          }),
      },
      {
        windows: { windowMs: config.usage.windowMs },
        intervalMs: config.pricingIntervalMs,
        idleMs: config.usage.idleMs,
      },
      this.metrics,
      this.rootLogger,
    );
    this.pricing = pricing;
    const batchSink: CommittedBatchSink = {
      committed: (batch) => {
        influxOut.committed(batch);
        pricing.enqueue(batch.months);
      },
    };
    const processor = new SampleBatchProcessor(
      ledger,
      catalog,
      deadLetters,
      usageEvents,
      batchSink,
      {
        groupId: config.groupId,
        rules: {
          maxGapMs: config.maxGapMs,
          maxIntervalMs: config.maxIntervalMs,
          plausibility: config.plausibility,
        },
        maxFutureSkewMs: config.maxFutureSkewMs,
        maxSampleAgeMs: config.maxSampleAgeMs,
        ...(config.hostKeys === null ? {} : { hostKeys: config.hostKeys }),
        windows: { windowMs: config.usage.windowMs },
        repricePageBuckets: config.repricePageBuckets,
      },
      Date.now,
      { start: (phase) => this.phaseSeconds.startTimer({ phase }) },
      {
        splitting: (batch, error) => {
          this.isolating.inc();
          this.logger.warn(
            {
              err: error,
              topic: batch.topic,
              partition: batch.partition,
              firstOffset: batch.firstOffset,
              lastOffset: batch.lastOffset,
            },
            'batch failed for a reason that is not the infrastructure: splitting it to find the message responsible',
          );
        },
        unrateable: (message, error) => {
          this.logger.error(
            {
              err: error,
              topic: message.topic,
              partition: message.partition,
              offset: message.offset,
            },
            'message makes rating fail: dead-lettered as UNRATEABLE',
          );
        },
      },
      pricing,
    );

    this.consumer = this.kafka.createConsumer({
      groupId: config.groupId,
      topics: [config.samplesTopic],
      autoCommit: false,
      fromBeginning: true,
      maxBytesPerPartition: config.maxBytesPerPartition,
      partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
      sessionTimeoutMs: config.sessionTimeoutMs,
      heartbeatIntervalMs: Math.min(3_000, Math.floor(config.sessionTimeoutMs / 3)),
      // An empty fetch waits this long at the broker; a sample answers it at once, so the wait
      // costs no latency, and a rating with nothing to rate asks once per wait, not per second.
      // kafkajs heartbeats between fetches: a third of the session timeout at most.
      maxWaitTimeMs: Math.min(5_000, Math.floor(config.sessionTimeoutMs / 3)),
      shutdownSignals: [],
      // Positions live in the ledger, committed with the usage they produced; each is checked
      // against the topic before it is read from (offset continuity).
      onPartitionsAssigned: (assignment) => continuity.onAssigned(assignment),
      // An error that retrying cannot cure (a programming error): exit, and let the supervisor
      // (Kubernetes, compose) start rating again; it resumes from the offsets in the ledger.
      // Staying up would leave a process that looks alive and rates nothing.
      onCrash: (error) => {
        this.logger.fatal({ err: error }, 'consumer stopped for good; exiting to be restarted');
        process.exitCode = 1;
        process.kill(process.pid, 'SIGTERM'); // the shutdown hooks close the ledger and Kafka
      },
    });
    continuity.attach(this.consumer);
    await this.consumer.start(async (consumed) => {
      // A batch out of line with the stored position is never rated on a guess: the guard
      // decides again, and stops the partition rather than skip or rate it silently.
      const admitted = await continuity.admit(consumed);
      if (admitted.kind === 'hold') return { lastProcessedOffset: null };
      if (admitted.kind === 'verified') return; // only the message read to verify: resolved
      const batch = admitted.batch;
      this.batchSize.observe(batch.messages.length);
      const partition = { topic: batch.topic, partition: String(batch.partition) };
      // Before rating: a partition whose batches keep failing must still show its lag.
      this.setLag(partition, BigInt(batch.highWatermark) - BigInt(batch.firstOffset));
      const end = this.batchSeconds.startTimer();
      fingerprints.track(batch);
      let outcome: BatchOutcome;
      try {
        outcome = await processor.process(batch);
      } catch (error) {
        this.failures.failed(batch.topic, batch.partition, error);
        this.batchFailures.inc();
        throw error;
      } finally {
        fingerprints.release(batch);
      }
      this.failures.succeeded(batch.topic, batch.partition);
      continuity.committed(batch);
      end();
      this.batches.inc();
      this.messages.inc({ outcome: 'rated' }, outcome.rated);
      this.messages.inc({ outcome: 'duplicate' }, outcome.duplicates);
      this.messages.inc({ outcome: 'out_of_order' }, outcome.outOfOrder);
      this.messages.inc({ outcome: 'already_applied' }, outcome.skipped);
      this.messages.inc({ outcome: 'unrateable' }, outcome.unrateable);
      this.deadLettered.inc(outcome.deadLettered);
      if (outcome.repricedMonths > 0) {
        this.repriced.inc(outcome.repricedMonths);
        this.logger.info(
          { months: outcome.repricedMonths },
          'plan assignments changed: tenant months priced again',
        );
      }
      if (outcome.clipped > 0) {
        this.clipped.inc(outcome.clipped);
        this.clippedCpu.inc(outcome.clippedCoreSeconds);
        this.logger.warn(
          { topic: batch.topic, partition: batch.partition, ...pick(outcome) },
          'samples accounting for more than MAX_INTERVAL_MS: only their last part was rated',
        );
      }
      this.setLag(partition, BigInt(batch.highWatermark) - BigInt(batch.nextOffset));
    });
    // Events a crash or an outage left in the outbox go out before long, then idle windows.
    usageEvents.start();
    pricing.start();
    continuity.start();
    this.logger.info({ topic: config.samplesTopic, groupId: config.groupId }, 'rating started');
  }

  async stop(): Promise<void> {
    await this.continuity?.stop();
    await this.consumer?.disconnect();
    await this.admin?.disconnect();
    await this.pricing?.stop();
    await this.usageOutbox?.stop();
    await this.usageProducer?.stop();
    await this.producer?.disconnect();
    await this.influx?.stop(5_000);
    await this.ledger?.close();
    this.logger.info('rating stopped');
  }

  readonly databaseHealth: HealthIndicator = async () => {
    if (this.ledger?.connected !== true)
      return { status: 'down', detail: { reason: 'not connected' } };
    await this.ledger.ping();
    return { status: 'up' };
  };

  private setLag(labels: { topic: string; partition: string }, lag: bigint): void {
    this.lag.set(labels, Number(lag > 0n ? lag : 0n));
  }

  /** Down while a partition's batches have kept failing for longer than the stall limit. */
  readonly partitionsHealth: HealthIndicator = () => {
    const stalled = this.failures.stalled(Date.now());
    return Promise.resolve(
      stalled.length === 0 ? { status: 'up' } : { status: 'down', detail: { stalled } },
    );
  };

  /** Down while a partition is stopped by offset continuity, naming it and why. */
  readonly offsetsHealth: HealthIndicator = () =>
    this.continuity?.healthIndicator() ?? Promise.resolve({ status: 'up' });

  readonly consumerHealth: HealthIndicator = () => {
    const state = this.consumer?.state ?? 'new';
    return Promise.resolve(
      state === 'running' ? { status: 'up' } : { status: 'down', detail: { state } },
    );
  };

  /**
   * For liveness: down only once the consumer stopped for good (kafkajs will not restart it).
   * onCrash already asks the process to exit; this restarts it if that shutdown hangs. A Kafka
   * or PostgreSQL outage never gets here: kafkajs retries and restarts the consumer itself.
   */
  readonly consumerLiveness: HealthIndicator = () => {
    const state = this.consumer?.state ?? 'new';
    return Promise.resolve(
      state === 'crashed' ? { status: 'down', detail: { state } } : { status: 'up' },
    );
  };
}

function pick(o: BatchOutcome): { clipped: number; clippedCoreSeconds: number } {
  return { clipped: o.clipped, clippedCoreSeconds: o.clippedCoreSeconds };
}
