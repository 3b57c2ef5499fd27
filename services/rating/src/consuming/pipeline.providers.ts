import { type Provider } from '@nestjs/common';
import {
  type DeadLetterPublisher,
  type KafkaAdmin,
  KafkaClientFactory,
  type KafkaConsumer,
  type KafkaProducer,
} from '@metering/kafka';
import { type Logger, MetricsRegistry, ROOT_LOGGER } from '@metering/observability';
import { ApplicationEnd } from '../application-end';
import { type RatingConfig } from '../config';
import { RATING_CLOCK, RATING_LOGGER, RATING_STORES } from '../connections.providers';
import { type RatingLedgerStores } from '../ledger/rating-ledger';
import { PricingStage } from '../pricing/pricing.stage';
import { TenantAffinity } from '../pricing/tenant-affinity';
import { TenantCatalog } from '../pricing/tenant-catalog';
import { UsageEventOutbox } from '../publishing/usage-event.outbox';
import { UsageProducerThread } from '../publishing/usage-producer.thread';
import { COMMITTED_SINK, INFLUX_SINK, influxProviders } from '../sinks/influx.providers';
import { BatchWindow } from './batch-window';
import { contractDeadLetterEncoder } from './dead-letter.encoder';
import { BatchFingerprints } from './message-fingerprint';
import { OffsetContinuityGuard } from './offset-continuity.guard';
import { RatingConsumer } from './rating.consumer';
import { RatingMetrics } from './rating.metrics';
import { type CommittedBatchSink, SampleBatchProcessor } from './sample-batch.processor';

/** Kafka admin, connected, the topics ensured; kept for offset continuity's watermarks. */
export const KAFKA_ADMIN = Symbol('KAFKA_ADMIN');
/** The producer of the dead letters, connected. */
export const KAFKA_PRODUCER = Symbol('KAFKA_PRODUCER');
/** DeadLetterPublisher to SAMPLES_DLQ_TOPIC, bounded by the topic's max.message.bytes. */
export const DEAD_LETTERS = Symbol('DEAD_LETTERS');
export { INFLUX_SINK, COMMITTED_SINK };
/** The samples topic's KafkaConsumer (not started: RatingService starts RatingConsumer). */
export const KAFKA_CONSUMER = Symbol('KAFKA_CONSUMER');

/**
 * The parts RatingService starts and stops. AppModule.forRoot(config, { start: false })
 * provides them as null: the commands that open the module use the ledger and Kafka only.
 */
export const PIPELINE_PARTS = [
  KAFKA_ADMIN,
  KAFKA_PRODUCER,
  UsageProducerThread,
  UsageEventOutbox,
  PricingStage,
  INFLUX_SINK,
  OffsetContinuityGuard,
  RatingConsumer,
] as const;

/**
 * The consuming pipeline, one provider per part: what AppModule.forRoot gives RatingService
 * and what a benchmark takes with app.get. Parts that must connect before use are async
 * factories; starting the loops and stopping everything, in order, is RatingService's.
 */
export function pipelineProviders(config: RatingConfig): Provider[] {
  return [
    ...kafkaProviders(config),
    {
      // Encoding Kafka records costs about as much as rating: the usage events are produced on
      // a thread of their own.
      provide: UsageProducerThread,
      useFactory: async (root: Logger): Promise<UsageProducerThread> => {
        const thread = new UsageProducerThread(
          {
            // The whole Kafka config (TLS, SASL too): the thread makes its own client from it.
            kafka: { ...config.kafka, clientId: `${config.kafka.clientId}-usage` },
            topic: config.usage.topic,
            compression: config.usage.compression,
            requestMaxBytes: config.usage.requestMaxBytes,
            producers: config.usage.producers,
            logLevel: config.logLevel,
          },
          root,
        );
        await thread.start();
        return thread;
      },
      inject: [ROOT_LOGGER],
    },
    {
      provide: UsageEventOutbox,
      useFactory: (
        stores: RatingLedgerStores,
        thread: UsageProducerThread,
        metrics: MetricsRegistry,
        root: Logger,
      ): UsageEventOutbox =>
        new UsageEventOutbox(stores.outbox, thread, metrics, root, {
          sweepMs: config.usage.sweepMs,
          maxInFlight: 8,
        }),
      inject: [RATING_STORES, UsageProducerThread, MetricsRegistry, ROOT_LOGGER],
    },
    {
      provide: TenantCatalog,
      useFactory: (stores: RatingLedgerStores): TenantCatalog =>
        new TenantCatalog(stores.catalog, {
          ttlMs: config.tenantCatalogTtlMs,
          defaultTimeZone: config.defaultTimeZone,
          defaultCurrency: config.defaultCurrency,
          comparePriced: true,
        }),
      inject: [RATING_STORES],
    },
    ...influxProviders(config),
    {
      // The tenants whose months this instance prices as its batches commit (its partitions').
      provide: TenantAffinity,
      useFactory: (): TenantAffinity => new TenantAffinity(config.samplesTopicPartitions),
    },
    {
      // Charges, positions and usage windows: priced per tenant month after the batches commit.
      provide: PricingStage,
      useFactory: (
        stores: RatingLedgerStores,
        catalog: TenantCatalog,
        outbox: UsageEventOutbox,
        influx: CommittedBatchSink,
        metrics: MetricsRegistry,
        root: Logger,
        affinity: TenantAffinity,
      ): PricingStage => {
        const { written } = stores;
        written.holdOnly((tenantId) => affinity.owns(tenantId));
        metrics.gauge({
          name: 'pricing_held_pieces',
          help: "Unpriced pieces this process's batches wrote and holds for its pricing passes, which then do not read them back (bounded)",
          collect() {
            this.set(written.size);
          },
        });
        return new PricingStage(
          stores.pricing,
          catalog,
          outbox,
          {
            priced: ({ buckets, position }) =>
              influx.committed({
                buckets,
                positions: position === null ? [] : [position],
                gauges: [],
                months: [],
              }),
          },
          {
            windows: { windowMs: config.usage.windowMs },
            intervalMs: config.pricingIntervalMs,
            backlogDelayMs: config.pricingBacklogDelayMs,
            idleMs: config.usage.idleMs,
            affinity,
          },
          metrics,
          root,
        );
      },
      inject: [
        RATING_STORES,
        TenantCatalog,
        UsageEventOutbox,
        COMMITTED_SINK,
        MetricsRegistry,
        ROOT_LOGGER,
        TenantAffinity,
      ],
    },
    {
      provide: RatingMetrics,
      useFactory: (metrics: MetricsRegistry, now: () => number): RatingMetrics =>
        new RatingMetrics(metrics, config.partitionStallMs, now),
      inject: [MetricsRegistry, RATING_CLOCK],
    },
    processorProvider(config),
    ...consumerProviders(config),
  ];
}

/** The admin (topics), the dead letters' producer and their publisher. */
function kafkaProviders(config: RatingConfig): Provider[] {
  return [
    {
      provide: KAFKA_ADMIN,
      useFactory: async (kafka: KafkaClientFactory): Promise<KafkaAdmin> => {
        // Kept connected: offset continuity reads the samples topic's watermarks at every
        // assignment.
        const admin = kafka.createAdmin();
        await admin.connect();
        await admin.ensureTopics([
          { topic: config.samplesTopic, numPartitions: config.samplesTopicPartitions },
          { topic: config.samplesDlqTopic, numPartitions: config.samplesTopicPartitions },
          { topic: config.usage.topic, numPartitions: config.usage.partitions },
        ]);
        return admin;
      },
      inject: [KafkaClientFactory],
    },
    {
      provide: KAFKA_PRODUCER,
      useFactory: async (kafka: KafkaClientFactory): Promise<KafkaProducer> => {
        const producer = kafka.createProducer();
        await producer.connect();
        return producer;
      },
      inject: [KafkaClientFactory],
    },
    {
      provide: DEAD_LETTERS,
      useFactory: async (
        kafka: KafkaClientFactory,
        admin: KafkaAdmin,
        producer: KafkaProducer,
        logger: Logger,
      ): Promise<DeadLetterPublisher> => {
        // Not allowed to describe the topic (ACLs): the configured bounds apply as they are.
        const dlqMaxMessageBytes = await admin
          .maxMessageBytes(config.samplesDlqTopic)
          .catch((error: unknown) => {
            logger.warn({ err: error }, "DLQ topic's max.message.bytes unread; DLQ_MAX_* apply");
            return null;
          });
        const deadLetters = kafka.createDeadLetterPublisher(producer, {
          topic: config.samplesDlqTopic,
          encode: contractDeadLetterEncoder('rating', () => new Date()),
          ...config.deadLetters,
          ...(dlqMaxMessageBytes === null ? {} : { topicMaxMessageBytes: dlqMaxMessageBytes }),
        });
        logger.info({ ...deadLetters.limits, dlqMaxMessageBytes }, 'dead letters bounded');
        return deadLetters;
      },
      inject: [KafkaClientFactory, KAFKA_ADMIN, KAFKA_PRODUCER, RATING_LOGGER],
    },
  ];
}

/** The batch processor: rates a partition batch and commits it with its position. */
function processorProvider(config: RatingConfig): Provider {
  return {
    provide: SampleBatchProcessor,
    useFactory: (
      stores: RatingLedgerStores,
      catalog: TenantCatalog,
      deadLetters: DeadLetterPublisher,
      outbox: UsageEventOutbox,
      influx: CommittedBatchSink,
      pricing: PricingStage,
      metrics: RatingMetrics,
      now: () => number,
      logger: Logger,
    ): SampleBatchProcessor =>
      new SampleBatchProcessor(
        stores,
        catalog,
        deadLetters,
        outbox,
        {
          committed: (batch) => {
            influx.committed(batch);
            pricing.enqueue(batch.months, batch.behind === true);
          },
        },
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
        now,
        { start: (phase) => metrics.phaseSeconds.startTimer({ phase }) },
        {
          splitting: (batch, error) => {
            metrics.isolating.inc();
            logger.warn(
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
            logger.error(
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
      ),
    inject: [
      RATING_STORES,
      TenantCatalog,
      DEAD_LETTERS,
      UsageEventOutbox,
      COMMITTED_SINK,
      PricingStage,
      RatingMetrics,
      RATING_CLOCK,
      RATING_LOGGER,
    ],
  };
}

/** Offset continuity, the samples topic's consumer, and what it does with each batch. */
function consumerProviders(config: RatingConfig): Provider[] {
  return [
    { provide: BatchWindow, useFactory: () => new BatchWindow(config.batchWindow) },
    {
      provide: OffsetContinuityGuard,
      useFactory: (
        stores: RatingLedgerStores,
        admin: KafkaAdmin,
        metrics: MetricsRegistry,
        root: Logger,
      ): OffsetContinuityGuard =>
        new OffsetContinuityGuard(stores.offsets, admin, metrics, root, {
          groupId: config.groupId,
          topic: config.samplesTopic,
          pollMs: config.offsetDecisionPollMs,
        }),
      inject: [RATING_STORES, KAFKA_ADMIN, MetricsRegistry, ROOT_LOGGER],
    },
    {
      provide: KAFKA_CONSUMER,
      useFactory: (
        kafka: KafkaClientFactory,
        continuity: OffsetContinuityGuard,
        window: BatchWindow,
        end: ApplicationEnd,
        logger: Logger,
        affinity: TenantAffinity,
      ): KafkaConsumer => {
        const consumer = kafka.createConsumer({
          groupId: config.groupId,
          topics: [config.samplesTopic],
          autoCommit: false,
          fromBeginning: true,
          maxBytesPerPartition: config.maxBytesPerPartition,
          maxBytesPerFetch: config.maxBytesPerFetch,
          partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
          sessionTimeoutMs: config.sessionTimeoutMs,
          heartbeatIntervalMs: Math.min(3_000, Math.floor(config.sessionTimeoutMs / 3)),
          // An empty fetch waits this long at the broker; a sample answers it at once, so the
          // wait costs no latency, and a rating with nothing to rate asks once per wait, not per
          // second. kafkajs heartbeats between fetches: a third of the session timeout at most.
          maxWaitTimeMs: Math.min(5_000, Math.floor(config.sessionTimeoutMs / 3)),
          shutdownSignals: [],
          // Positions live in the ledger, committed with the usage they produced; each is
          // checked against the topic before it is read from (offset continuity).
          // Every assignment also drops what the batch window held (read again from there).
          onPartitionsAssigned: async (assignment) => {
            window.clear();
            const seeks = await continuity.onAssigned(assignment);
            const mine = assignment.find((a) => a.topic === config.samplesTopic)?.partitions;
            affinity.assigned(mine ?? [], continuity.topicPartitions);
            return seeks;
          },
          onCrash: (error) => consumerStopped(error, end, logger),
        });
        continuity.attach(consumer);
        return consumer;
      },
      inject: [
        KafkaClientFactory,
        OffsetContinuityGuard,
        BatchWindow,
        ApplicationEnd,
        RATING_LOGGER,
        TenantAffinity,
      ],
    },
    {
      provide: RatingConsumer,
      useFactory: (
        consumer: KafkaConsumer,
        continuity: OffsetContinuityGuard,
        processor: SampleBatchProcessor,
        fingerprints: BatchFingerprints,
        metrics: RatingMetrics,
        window: BatchWindow,
        end: ApplicationEnd,
        logger: Logger,
        now: () => number,
      ): RatingConsumer =>
        new RatingConsumer(consumer, continuity, processor, fingerprints, metrics, window, {
          logger,
          now,
          // A held batch the window's timer rated failed for good: as a consumer crash.
          fatal: (error) => consumerStopped(error, end, logger),
        }),
      inject: [
        KAFKA_CONSUMER,
        OffsetContinuityGuard,
        SampleBatchProcessor,
        BatchFingerprints,
        RatingMetrics,
        BatchWindow,
        ApplicationEnd,
        RATING_LOGGER,
        RATING_CLOCK,
      ],
    },
  ];
}

/**
 * An error that retrying cannot cure (a programming error): end the application (the same stop
 * order as SIGTERM), exit non-zero, and let the supervisor (Kubernetes, compose) start rating
 * again; it resumes from the offsets in the ledger. Staying up would leave a process that looks
 * alive and rates nothing.
 */
function consumerStopped(error: Error, end: ApplicationEnd, logger: Logger): void {
  logger.fatal({ err: error }, 'consumer stopped for good; exiting to be restarted');
  void end.fatal(error);
}
