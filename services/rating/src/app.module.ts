import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { type Logger, type MetricsRegistry, ObservabilityModule } from '@metering/observability';
import { ApplicationEnd } from './application-end';
import { RATING_CONFIG, type RatingConfig } from './config';
import { connectionProviders } from './connections.providers';
import { PIPELINE_PARTS, pipelineProviders } from './consuming/pipeline.providers';
import { RatingService } from './rating.service';

export { RATING_CONFIG } from './config';

export interface AppModuleOptions {
  /** The process's root logger, made by the entry before Nest starts. */
  logger?: Logger;
  /** A registry made by the caller (benchmarks read it); default: the module makes one. */
  metrics?: MetricsRegistry;
  /**
   * Wire and start the consuming pipeline (default true). False: only the ledger (migrated when
   * MIGRATE_ON_START, connected), its stores and the Kafka client factory — what the `rating`
   * commands and the backfill use; the pipeline's parts are provided as null.
   */
  start?: boolean;
  /** `application_name` of the ledger connections (default `rating`). */
  applicationName?: string;
}

/**
 * The rating service: /healthz and /metrics (ObservabilityModule), the ledger and Kafka
 * connections, the consuming pipeline's parts (producers, usage outbox and its thread, InfluxDB
 * sink, pricing stage, batch processor, offset continuity, consumer) and RatingService, which
 * starts them and stops them in order. The one entry of main.ts, the commands, the integration
 * tests and the benchmarks (ADR 0015).
 */
@Module({})
export class AppModule {
  static forRoot(config: RatingConfig, options: AppModuleOptions = {}): DynamicModule {
    const pipeline: Provider[] =
      options.start === false
        ? PIPELINE_PARTS.map((token) => ({ provide: token, useValue: null }))
        : pipelineProviders(config);
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({
          serviceName: 'rating',
          logLevel: config.logLevel,
          ...(options.logger === undefined ? {} : { logger: options.logger }),
          ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
        }),
      ],
      providers: [
        { provide: RATING_CONFIG, useValue: config },
        ApplicationEnd,
        ...connectionProviders(config, { applicationName: options.applicationName ?? 'rating' }),
        ...pipeline,
        RatingService,
      ],
    };
  }
}
