import { type DynamicModule, Module } from '@nestjs/common';
import {
  type Logger,
  MetricsRegistry,
  ObservabilityModule,
  ROOT_LOGGER,
} from '@metering/observability';
import { SAMPLE_PUBLISHER, startSamplePublisher, type SamplePublisher } from '@metering/spool';
import { collectorProviders } from './collector/collector.providers';
import { DockerCollectorService, START_ON_BOOTSTRAP } from './collector/docker-collector.service';
import { DOCKER_COLLECTOR_CONFIG, type DockerCollectorConfig } from './config';

export interface AppModuleOptions {
  /** The process's root logger, made in main.ts before Nest starts. */
  logger?: Logger;
  /** A registry made by the caller (benchmarks read it); default: the module makes one. */
  metrics?: MetricsRegistry;
  /**
   * Start the collector at bootstrap (default true). False: wired and stopped at shutdown, but
   * not started — benchmarks drive ContainerCollector's cycles by hand.
   */
  start?: boolean;
}

/**
 * The docker-collector: /healthz and /metrics (ObservabilityModule), the sample publisher,
 * the collector's parts (engine, cgroup reading, stores, events) and the service that runs
 * them. The one entry of main.ts, the integration tests and the benchmarks (ADR 0015).
 */
@Module({})
export class AppModule {
  static forRoot(config: DockerCollectorConfig, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({
          serviceName: 'docker-collector',
          logLevel: config.logLevel,
          ...(options.logger === undefined ? {} : { logger: options.logger }),
          ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
        }),
      ],
      providers: [
        { provide: DOCKER_COLLECTOR_CONFIG, useValue: config },
        { provide: START_ON_BOOTSTRAP, useValue: options.start ?? true },
        {
          provide: SAMPLE_PUBLISHER,
          useFactory: (logger: Logger, metrics: MetricsRegistry): Promise<SamplePublisher> =>
            startSamplePublisher(config, { logger, metrics }),
          inject: [ROOT_LOGGER, MetricsRegistry],
        },
        ...collectorProviders(config),
        DockerCollectorService,
      ],
    };
  }
}
