import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import Dockerode from 'dockerode';
import { createLogger, type HealthIndicator, type Logger } from '@metering/observability';
import {
  CgroupReader,
  HeldFileReader,
  heldFileBudget,
  parseMountInfo,
  syncFileReader,
} from '../cgroups';

import { type DockerCollectorConfig, residualTenantOf } from '../config';
import { DockerEngineClient } from '../discovery/docker-engine.client';
import { DockerEventsWatcher } from '../discovery/docker-events.watcher';
import { TenantResolver } from '../discovery/tenant.resolver';
import { AutoUsageReader } from '../reading/auto-usage.reader';
import { CgroupUsageReader } from '../reading/cgroup-usage.reader';
import { StatsApiUsageReader } from '../reading/stats-api-usage.reader';
import { type UsageReader } from '../reading/usage-reader';
import {
  type Clock,
  type CollectorMetrics,
  type SamplePublisher,
  systemClock,
} from './collector.ports';
import { ContainerCollector } from './container-collector';
import { FileFollowedStore } from '../persistence/followed-containers.store';
import { FileResidualStore, currentBootId } from '../persistence/file-residual.store';

export interface RuntimeDeps {
  readonly publisher: SamplePublisher;
  readonly metrics: CollectorMetrics;
  readonly logger: Logger;
  readonly clock?: Clock;
}

/**
 * The collector wired to the real engine and the host's cgroups: what the Nest service runs,
 * and what integration tests and benchmarks run in-process.
 */
export class DockerCollectorRuntime {
  readonly engine: DockerEngineClient;
  readonly collector: ContainerCollector;
  readonly watcher: DockerEventsWatcher;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly residualStore: FileResidualStore | null;

  private constructor(
    private readonly config: DockerCollectorConfig,
    engine: DockerEngineClient,
    reader: UsageReader,
    private readonly deps: RuntimeDeps,
    /** The cgroup files held open, closed at stop (null: read by path). */
    private readonly heldFiles: HeldFileReader | null = null,
  ) {
    this.engine = engine;
    this.logger = createLogger('DockerCollector', { parent: deps.logger });
    this.clock = deps.clock ?? systemClock;
    this.residualStore = config.residualMetering
      ? new FileResidualStore(config.residualStateDir, currentBootId())
      : null;
    this.collector = new ContainerCollector(
      {
        source: engine,
        reader,
        publisher: deps.publisher,
        tenants: new TenantResolver(config.tenantLabel, config.defaultTenant),
        clock: this.clock,
        metrics: deps.metrics,
        log: this.logger,
        ...(this.residualStore === null ? {} : { residualStore: this.residualStore }),
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
    );
    this.watcher = new DockerEventsWatcher(
      (since, signal) => engine.openEvents(since, signal),
      {
        onEvent: (event) => this.collector.handleEvent(event),
        onReconnect: () => {
          this.logger.info({}, 'Docker event stream reconnected; resynchronising');
          void this.collector.resync().catch((error: unknown) => {
            this.logger.error({ err: error }, 'resync after reconnect failed');
          });
        },
        onStreamError: (error, attempt) => {
          // Every failure of a streak would be a line every 10 s while the engine is away.
          if (attempt < 3 || attempt % 30 === 0) {
            this.logger.warn({ err: error, attempt }, 'Docker event stream dropped; reconnecting');
          }
        },
      },
      { minBackoffMs: 250, maxBackoffMs: 10_000 },
    );
  }

  /** Connects to the engine and resolves how usage will be read (cgroup driver, mounts). */
  static async create(
    config: DockerCollectorConfig,
    deps: RuntimeDeps,
  ): Promise<DockerCollectorRuntime> {
    const hostCpus = cpus().length;
    const engine = new DockerEngineClient(
      new Dockerode({ socketPath: config.dockerSocket }),
      hostCpus,
    );
    const logger = createLogger('DockerCollector', { parent: deps.logger });
    const statsApi = new StatsApiUsageReader(engine, config.statsApiConcurrency);
    let reader: UsageReader;
    const heldBudget = heldFileBudget(config.heldCgroupFiles, readProcLimits());
    const heldFiles =
      heldBudget > 0 ? new HeldFileReader({ maxHeld: heldBudget, idleCloseMs: 300_000 }) : null;
    if (config.usageSource === 'stats-api') {
      reader = statsApi;
    } else {
      const cgroups = new CgroupUsageReader({
        mounts: parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')),
        driver: await engine.cgroupDriver().catch((error: unknown) => {
          // Only used to derive the path of a container whose process is already gone.
          logger.warn(
            { err: error },
            'cannot ask the engine for its cgroup driver; assuming cgroupfs',
          );
          return 'cgroupfs' as const;
        }),
        procRoot: config.procDir,
        // Limits are read every few cycles: by path, the held files are for the usage files.
        reader: new CgroupReader(hostCpus, heldFiles?.read ?? syncFileReader, syncFileReader),
      });
      reader =
        config.usageSource === 'cgroup'
          ? cgroups
          : new AutoUsageReader(cgroups, statsApi, (container, error) => {
              logger.warn(
                { containerId: container.id, err: error },
                'cgroup files not readable; using the Docker stats API for this container',
              );
            });
    }
    return new DockerCollectorRuntime(config, engine, reader, deps, heldFiles);
  }

  /** Lists and reads what runs now, then follows events; cycles run on their timer. */
  async start(): Promise<void> {
    // Events from just before the listing on: nothing between the two is missed. The engine
    // filters by its own (wall) clock, not the collector's.
    const since = Math.floor(Date.now() / 1000) - 1;
    this.watcher.start(since);
    await this.collector.start();
    this.logger.info(
      { containers: this.collector.containerCount, intervalMs: this.config.sampleIntervalMs },
      'docker-collector started',
    );
  }

  async stop(): Promise<void> {
    await this.watcher.stop();
    await this.collector.stop();
    this.residualStore?.close();
    this.heldFiles?.close();
  }

  /** Health checks: the engine answers, events flow, cycles happen. */
  healthIndicators(): Record<string, HealthIndicator> {
    return {
      docker: async () => {
        await this.engine.ping();
        return { status: 'up', detail: { eventsConnected: this.watcher.connected } };
      },
      sampling: () => {
        const last = this.collector.lastCycleAt;
        const age = last === null ? null : this.clock.now() - last;
        const late = age !== null && age > 3 * this.config.sampleIntervalMs;
        return Promise.resolve({
          status: late ? 'down' : 'up',
          detail: {
            containers: this.collector.containerCount,
            lastCycleAgeMs: age === null ? null : Math.round(age),
          },
        });
      },
    };
  }
}

/** This process's resource limits (/proc/self/limits), or null where there is no procfs. */
function readProcLimits(): string | null {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return null;
  }
}
