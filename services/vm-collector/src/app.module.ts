import { type DynamicModule, Module } from '@nestjs/common';
import {
  createLogger,
  type Logger,
  MetricsRegistry,
  ObservabilityModule,
  ROOT_LOGGER,
} from '@metering/observability';
import {
  type CollectorClock,
  observedCollectorClock,
  SAMPLE_PUBLISHER,
  type SamplePublisher,
  startSamplePublisher,
} from '@metering/spool';
import {
  COLLECTOR_CLOCK,
  CollectorMetrics,
  DOMAIN_SOURCE,
  FOLLOWED_STORE,
  VmCollectorService,
} from './collector';
import { VM_COLLECTOR_CONFIG, type VmCollectorConfig } from './config';
import { type DomainSource, LibvirtDiscovery } from './discovery';
import { FollowedDomainsStore } from './persistence';

export interface AppModuleOptions {
  /** The process's root logger, made in main.ts before Nest starts. */
  logger?: Logger;
}

/**
 * The vm-collector: /healthz and /metrics (ObservabilityModule), the libvirt discovery, the
 * sample publisher (spool → Kafka) and the sampling loop.
 */
@Module({})
export class AppModule {
  static forRoot(config: VmCollectorConfig, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({
          serviceName: 'vm-collector',
          logLevel: config.logLevel,
          ...(options.logger === undefined ? {} : { logger: options.logger }),
        }),
      ],
      providers: [
        { provide: VM_COLLECTOR_CONFIG, useValue: config },
        {
          // Readings are stamped by a monotonic clock anchored to the wall clock (ADR 0009).
          provide: COLLECTOR_CLOCK,
          useFactory: (metrics: MetricsRegistry, logger: Logger): CollectorClock =>
            observedCollectorClock({
              metrics,
              logger: createLogger('CollectorClock', { parent: logger }),
            }),
          inject: [MetricsRegistry, ROOT_LOGGER],
        },
        {
          provide: DOMAIN_SOURCE,
          useFactory: (clock: CollectorClock): LibvirtDiscovery =>
            new LibvirtDiscovery(
              {
                uris: config.libvirtUris,
                hostName: config.hostName,
                metadataRefreshMs: config.metadataRefreshMs,
                qemuRunDir: config.qemuRunDir,
                procDir: config.procDir,
                callTimeoutMs: config.libvirtTimeoutMs,
                concurrency: config.libvirtConcurrency,
                watchReads: config.watchReads,
                youngWindowMs: config.sampleIntervalMs,
                watchRunDir: config.lifecycleWatch === 'run-dir',
                cpuSource: config.domainCpu,
                cgroupRoot: config.cgroupRoot,
              },
              () => clock.now(),
              (wallMs) => clock.fromWall(wallMs),
            ),
          inject: [COLLECTOR_CLOCK],
        },
        {
          provide: SAMPLE_PUBLISHER,
          useFactory: (logger: Logger, metrics: MetricsRegistry): Promise<SamplePublisher> =>
            startSamplePublisher(config, { logger, metrics }),
          inject: [ROOT_LOGGER, MetricsRegistry],
        },
        {
          provide: CollectorMetrics,
          useFactory: (
            metrics: MetricsRegistry,
            publisher: SamplePublisher,
            source: DomainSource,
          ): CollectorMetrics =>
            new CollectorMetrics(
              metrics,
              () => publisher.depth(),
              () => source.cpuFromCgroups?.() ?? 0,
            ),
          inject: [MetricsRegistry, SAMPLE_PUBLISHER, DOMAIN_SOURCE],
        },
        // The domains followed, beside the spool: a restart infers the end of those gone since.
        { provide: FOLLOWED_STORE, useValue: new FollowedDomainsStore(config.followedStateDir) },
        VmCollectorService,
      ],
    };
  }
}
