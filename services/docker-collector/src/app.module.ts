import { type DynamicModule, Module } from '@nestjs/common';
import {
  type Logger,
  MetricsRegistry,
  ObservabilityModule,
  ROOT_LOGGER,
} from '@metering/observability';
import { DockerCollectorService } from './collector/docker-collector.service';
import { DOCKER_COLLECTOR_CONFIG, type DockerCollectorConfig } from './config';
import { SAMPLE_PUBLISHER, startSamplePublisher } from './publishing/publisher.factory';
import { type SamplePublisher } from './publishing/sample.publisher';

export interface AppModuleOptions {
  /** The process's root logger, made in main.ts before Nest starts. */
  logger?: Logger;
}

/**
 * The docker-collector: /healthz and /metrics (ObservabilityModule), the sample publisher
 * and the collector (discovery, cgroup reading, sampling).
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
        }),
      ],
      providers: [
        { provide: DOCKER_COLLECTOR_CONFIG, useValue: config },
        {
          provide: SAMPLE_PUBLISHER,
          useFactory: (logger: Logger, metrics: MetricsRegistry): Promise<SamplePublisher> =>
            startSamplePublisher(config, { logger, metrics }),
          inject: [ROOT_LOGGER, MetricsRegistry],
        },
        DockerCollectorService,
      ],
    };
  }
}
