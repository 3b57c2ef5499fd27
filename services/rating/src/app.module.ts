import {
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { KafkaClientFactory } from '@metering/kafka';
import {
  HealthRegistry,
  type Logger,
  MetricsRegistry,
  ObservabilityModule,
  ROOT_LOGGER,
} from '@metering/observability';
import { type RatingConfig } from './config';
import { RatingRunner } from './consuming/rating.runner';

export const RATING_CONFIG = Symbol('RATING_CONFIG');

/** Starts the pipeline once HTTP is wired, stops it on shutdown (SIGTERM via Nest's hooks). */
@Injectable()
export class RatingLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly runner: RatingRunner;

  constructor(
    @Inject(RATING_CONFIG) config: RatingConfig,
    @Inject(ROOT_LOGGER) logger: Logger,
    metrics: MetricsRegistry,
    health: HealthRegistry,
  ) {
    const kafka = new KafkaClientFactory(config.kafka, { logger, metrics });
    this.runner = new RatingRunner(config, kafka, metrics, logger);
    // Liveness: only a consumer that stopped for good. Everything below is readiness: an outage
    // of PostgreSQL or Kafka makes rating not ready, never restarts it.
    health.register('consumer-loop', this.runner.consumerLiveness, { probe: 'liveness' });
    health.register('database', this.runner.databaseHealth);
    health.register('consumer', this.runner.consumerHealth);
    health.register('partitions', this.runner.partitionsHealth);
    health.register('offsets', this.runner.offsetsHealth);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.runner.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runner.stop();
  }
}

@Module({})
export class AppModule {
  static forRoot(config: RatingConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [ObservabilityModule.forRoot({ serviceName: 'rating', logger })],
      providers: [{ provide: RATING_CONFIG, useValue: config }, RatingLifecycle],
    };
  }
}
