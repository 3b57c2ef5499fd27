import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { type KafkaAdmin, type KafkaProducer } from '@metering/kafka';
import { type HealthIndicator, HealthRegistry, type Logger } from '@metering/observability';
import { RATING_CONFIG, type RatingConfig } from './config';
import { RATING_LEDGER, RATING_LOGGER } from './connections.providers';
import { INFLUX_SINK, KAFKA_ADMIN, KAFKA_PRODUCER } from './consuming/pipeline.providers';
import { OffsetContinuityGuard } from './consuming/offset-continuity.guard';
import { RatingConsumer } from './consuming/rating.consumer';
import { type RatingLedger } from './ledger/rating-ledger';
import { PricingStage } from './pricing/pricing.stage';
import { UsageEventOutbox } from './publishing/usage-event.outbox';
import { UsageProducerThread } from './publishing/usage-producer.thread';
import { type InfluxSink } from './sinks/influx.sink';

/**
 * Runs rating inside Nest: registers its health checks and starts consuming once HTTP is wired;
 * on shutdown (SIGTERM through Nest's hooks, app.close(), a consumer crash through
 * ApplicationEnd) stops everything in one written order. The pipeline parts are null when the
 * module was opened with `start: false` (commands): then only the ledger is closed.
 */
@Injectable()
export class RatingService implements OnApplicationBootstrap, OnApplicationShutdown {
  private stopped: Promise<void> | null = null;

  constructor(
    @Inject(RATING_CONFIG) private readonly config: RatingConfig,
    @Inject(RATING_LOGGER) private readonly logger: Logger,
    private readonly health: HealthRegistry,
    @Inject(RATING_LEDGER) private readonly ledger: RatingLedger,
    @Inject(KAFKA_ADMIN) private readonly admin: KafkaAdmin | null,
    @Inject(KAFKA_PRODUCER) private readonly producer: KafkaProducer | null,
    @Inject(UsageProducerThread) private readonly usageProducer: UsageProducerThread | null,
    @Inject(UsageEventOutbox) private readonly usageOutbox: UsageEventOutbox | null,
    @Inject(PricingStage) private readonly pricing: PricingStage | null,
    @Inject(INFLUX_SINK) private readonly influx: InfluxSink | null,
    @Inject(OffsetContinuityGuard) private readonly continuity: OffsetContinuityGuard | null,
    @Inject(RatingConsumer) private readonly consumer: RatingConsumer | null,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { consumer, continuity, usageOutbox, pricing } = this;
    if (consumer === null || continuity === null || usageOutbox === null || pricing === null) {
      return; // start: false — the ledger and Kafka for a command, nothing consumes
    }
    // Liveness: only a consumer that stopped for good. Everything below is readiness: an outage
    // of PostgreSQL or Kafka makes rating not ready, never restarts it.
    this.health.register('consumer-loop', consumer.consumerLiveness, { probe: 'liveness' });
    this.health.register('database', this.databaseHealth);
    this.health.register('consumer', consumer.consumerHealth);
    this.health.register('partitions', consumer.partitionsHealth);
    this.health.register('offsets', () => continuity.healthIndicator());
    this.influx?.start();
    await consumer.start();
    // Events a crash or an outage left in the outbox go out before long, then idle windows.
    usageOutbox.start();
    pricing.start();
    continuity.start();
    this.logger.info(
      { topic: this.config.samplesTopic, groupId: this.config.groupId },
      'rating started',
    );
  }

  /** Once, whoever asks first (SIGTERM, app.close(), ApplicationEnd). */
  onApplicationShutdown(): Promise<void> {
    this.stopped ??= this.stop();
    return this.stopped;
  }

  private async stop(): Promise<void> {
    await this.continuity?.stop();
    await this.consumer?.disconnect();
    await this.admin?.disconnect();
    await this.pricing?.stop();
    await this.usageOutbox?.stop();
    await this.usageProducer?.stop();
    await this.producer?.disconnect();
    await this.influx?.stop(5_000);
    await this.ledger.close();
    if (this.consumer !== null) this.logger.info('rating stopped');
  }

  private readonly databaseHealth: HealthIndicator = async () => {
    if (!this.ledger.connected) return { status: 'down', detail: { reason: 'not connected' } };
    await this.ledger.ping();
    return { status: 'up' };
  };
}
