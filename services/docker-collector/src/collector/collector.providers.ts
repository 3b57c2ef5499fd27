import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { type Provider } from '@nestjs/common';
import { createLogger, type Logger, MetricsRegistry, ROOT_LOGGER } from '@metering/observability';
import { observedCollectorClock, SAMPLE_PUBLISHER, type SamplePublisher } from '@metering/spool';
import {
  CgroupReader,
  HeldFileReader,
  heldFileBudget,
  parseMountInfo,
  syncFileReader,
} from '../cgroups';
import { type DockerCollectorConfig, residualTenantOf } from '../config';
import { DockerEngineClient } from '../discovery/docker-engine.client';
import { loadDockerode } from '../discovery/dockerode.loader';
import { DockerEventsWatcher } from '../discovery/docker-events.watcher';
import { TenantResolver } from '../discovery/tenant.resolver';
import { FileFollowedStore } from '../persistence/followed-containers.store';
import { currentBootId, FileResidualStore } from '../persistence/file-residual.store';
import { AutoUsageReader } from '../reading/auto-usage.reader';
import { CgroupUsageReader } from '../reading/cgroup-usage.reader';
import { StatsApiUsageReader } from '../reading/stats-api-usage.reader';
import { type UsageReader } from '../reading/usage-reader';
import { CollectorMetricsAdapter } from './collector.metrics';
import { type Clock } from './collector.ports';
import { ContainerCollector } from './container-collector';

/** The collector clock (CollectorClock of @metering/spool, ADR 0009) samples are stamped by. */
export const COLLECTOR_CLOCK = Symbol('COLLECTOR_CLOCK');
/** The collector's logger (context `DockerCollector`). */
export const COLLECTOR_LOGGER = Symbol('COLLECTOR_LOGGER');
/** The cgroup files held open (HeldFileReader), or null: read by path (HELD_CGROUP_FILES=0). */
export const HELD_FILES = Symbol('HELD_FILES');
/** How usage is read (USAGE_SOURCE): cgroup files, the stats API, or per container what works. */
export const USAGE_READER = Symbol('USAGE_READER');
/** The parents' residuals on disk (FileResidualStore), or null when residuals are not metered. */
export const RESIDUAL_STORE = Symbol('RESIDUAL_STORE');

/**
 * The collector wired to the real engine and the host's cgroups, one provider per part: what
 * AppModule.forRoot gives the service, the integration tests and the benchmarks. Stopping is
 * not theirs: DockerCollectorService stops them in order.
 */
export function collectorProviders(config: DockerCollectorConfig): Provider[] {
  return [
    {
      // Samples are stamped by a monotonic clock anchored to the wall clock (ADR 0009); its
      // steps are counted in docker_collector_clock_steps_total and logged.
      provide: COLLECTOR_CLOCK,
      useFactory: (metrics: MetricsRegistry, logger: Logger): Clock =>
        observedCollectorClock({
          metrics,
          logger: createLogger('CollectorClock', { parent: logger }),
        }),
      inject: [MetricsRegistry, ROOT_LOGGER],
    },
    {
      provide: COLLECTOR_LOGGER,
      useFactory: (root: Logger): Logger => createLogger('DockerCollector', { parent: root }),
      inject: [ROOT_LOGGER],
    },
    {
      provide: CollectorMetricsAdapter,
      useFactory: (metrics: MetricsRegistry, publisher: SamplePublisher): CollectorMetricsAdapter =>
        new CollectorMetricsAdapter(metrics, () => publisher.depth()),
      inject: [MetricsRegistry, SAMPLE_PUBLISHER],
    },
    {
      provide: DockerEngineClient,
      useFactory: (): DockerEngineClient => {
        const Dockerode = loadDockerode();
        return new DockerEngineClient(
          new Dockerode({ socketPath: config.dockerSocket }),
          cpus().length,
        );
      },
    },
    {
      provide: HELD_FILES,
      useFactory: (): HeldFileReader | null => {
        const budget = heldFileBudget(config.heldCgroupFiles, readProcLimits());
        return budget > 0 ? new HeldFileReader({ maxHeld: budget, idleCloseMs: 300_000 }) : null;
      },
    },
    {
      // Connects to the engine (its cgroup driver) and reads the host's cgroup mounts.
      provide: USAGE_READER,
      useFactory: (
        engine: DockerEngineClient,
        heldFiles: HeldFileReader | null,
        logger: Logger,
      ): Promise<UsageReader> => usageReader(config, engine, heldFiles, logger),
      inject: [DockerEngineClient, HELD_FILES, COLLECTOR_LOGGER],
    },
    {
      provide: RESIDUAL_STORE,
      useFactory: (): FileResidualStore | null =>
        config.residualMetering
          ? new FileResidualStore(config.residualStateDir, currentBootId())
          : null,
    },
    {
      provide: ContainerCollector,
      useFactory: (
        engine: DockerEngineClient,
        reader: UsageReader,
        publisher: SamplePublisher,
        clock: Clock,
        metrics: CollectorMetricsAdapter,
        logger: Logger,
        residualStore: FileResidualStore | null,
      ): ContainerCollector =>
        new ContainerCollector(
          {
            source: engine,
            reader,
            publisher,
            tenants: new TenantResolver(config.tenantLabel, config.defaultTenant),
            clock,
            metrics,
            log: logger,
            ...(residualStore === null ? {} : { residualStore }),
            followedStore: new FileFollowedStore(config.followedStateDir),
          },
          {
            host: config.hostName,
            hostCores: config.hostCores,
            intervalMs: config.sampleIntervalMs,
            youngReadIntervalMs: config.youngReadIntervalMs,
            youngWindowMs: config.youngWindowMs,
            resyncIntervalMs: config.resyncIntervalMs,
            limitsEveryCycles: config.limitsEveryCycles,
            dieGraceMs: config.dieGraceMs,
            discoveryConcurrency: config.discoveryConcurrency,
            meterResidual: config.residualMetering,
            residualTenantOf: (path) => residualTenantOf(config.residualParentPattern, path),
          },
        ),
      inject: [
        DockerEngineClient,
        USAGE_READER,
        SAMPLE_PUBLISHER,
        COLLECTOR_CLOCK,
        CollectorMetricsAdapter,
        COLLECTOR_LOGGER,
        RESIDUAL_STORE,
      ],
    },
    {
      provide: DockerEventsWatcher,
      useFactory: (
        engine: DockerEngineClient,
        collector: ContainerCollector,
        logger: Logger,
      ): DockerEventsWatcher => eventsWatcher(engine, collector, logger),
      inject: [DockerEngineClient, ContainerCollector, COLLECTOR_LOGGER],
    },
  ];
}

/** Resolves how usage will be read (USAGE_SOURCE; cgroup driver, mounts). */
async function usageReader(
  config: DockerCollectorConfig,
  engine: DockerEngineClient,
  heldFiles: HeldFileReader | null,
  logger: Logger,
): Promise<UsageReader> {
  const hostCpus = cpus().length;
  const statsApi = new StatsApiUsageReader(engine, config.statsApiConcurrency);
  if (config.usageSource === 'stats-api') return statsApi;
  const cgroups = new CgroupUsageReader({
    mounts: parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')),
    driver: await engine.cgroupDriver().catch((error: unknown) => {
      // Only used to derive the path of a container whose process is already gone.
      logger.warn({ err: error }, 'cannot ask the engine for its cgroup driver; assuming cgroupfs');
      return 'cgroupfs' as const;
    }),
    procRoot: config.procDir,
    // Limits are read every few cycles: by path, the held files are for the usage files.
    reader: new CgroupReader(hostCpus, heldFiles?.read ?? syncFileReader, syncFileReader),
  });
  if (config.usageSource === 'cgroup') return cgroups;
  return new AutoUsageReader(cgroups, statsApi, (container, error) => {
    logger.warn(
      { containerId: container.id, err: error },
      'cgroup files not readable; using the Docker stats API for this container',
    );
  });
}

/** The engine's event stream into the collector; a reconnect resynchronises. */
function eventsWatcher(
  engine: DockerEngineClient,
  collector: ContainerCollector,
  logger: Logger,
): DockerEventsWatcher {
  return new DockerEventsWatcher(
    (since, signal) => engine.openEvents(since, signal),
    {
      onEvent: (event) => collector.handleEvent(event),
      onReconnect: () => {
        logger.info({}, 'Docker event stream reconnected; resynchronising');
        void collector.resync().catch((error: unknown) => {
          logger.error({ err: error }, 'resync after reconnect failed');
        });
      },
      onStreamError: (error, attempt) => {
        // Every failure of a streak would be a line every 10 s while the engine is away.
        if (attempt < 3 || attempt % 30 === 0) {
          logger.warn({ err: error, attempt }, 'Docker event stream dropped; reconnecting');
        }
      },
    },
    { minBackoffMs: 250, maxBackoffMs: 10_000 },
  );
}

/** This process's resource limits (/proc/self/limits), or null where there is no procfs. */
function readProcLimits(): string | null {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return null;
  }
}
