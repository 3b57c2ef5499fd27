import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { type HealthIndicator, HealthRegistry, type Logger } from '@metering/observability';
import { SAMPLE_PUBLISHER, type SamplePublisher } from '@metering/spool';
import { type HeldFileReader } from '../cgroups';
import { DOCKER_COLLECTOR_CONFIG, type DockerCollectorConfig } from '../config';
import { DockerEngineClient } from '../discovery/docker-engine.client';
import { DockerEventsWatcher } from '../discovery/docker-events.watcher';
import { type FileResidualStore } from '../persistence/file-residual.store';
import { type Clock } from './collector.ports';
import {
  COLLECTOR_CLOCK,
  COLLECTOR_LOGGER,
  HELD_FILES,
  RESIDUAL_STORE,
} from './collector.providers';
import { ContainerCollector } from './container-collector';

/** Whether DockerCollectorService starts the collector at bootstrap (AppModuleOptions.start). */
export const START_ON_BOOTSTRAP = Symbol('START_ON_BOOTSTRAP');

/**
 * Runs the collector inside Nest: registers its health checks and starts it after HTTP is
 * wired; stops it on SIGTERM (Nest's shutdown hooks), in order: events, cycles, the files it
 * holds, then the publisher (what was sampled goes out, or stays spooled for the next start).
 */
@Injectable()
export class DockerCollectorService implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(DOCKER_COLLECTOR_CONFIG) private readonly config: DockerCollectorConfig,
    @Inject(START_ON_BOOTSTRAP) private readonly startOnBootstrap: boolean,
    @Inject(SAMPLE_PUBLISHER) private readonly publisher: SamplePublisher,
    @Inject(COLLECTOR_CLOCK) private readonly clock: Clock,
    @Inject(COLLECTOR_LOGGER) private readonly logger: Logger,
    @Inject(HELD_FILES) private readonly heldFiles: HeldFileReader | null,
    @Inject(RESIDUAL_STORE) private readonly residualStore: FileResidualStore | null,
    private readonly engine: DockerEngineClient,
    private readonly collector: ContainerCollector,
    private readonly watcher: DockerEventsWatcher,
    private readonly health: HealthRegistry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Readiness only: Docker answering, cycles happening, the spool writable. An engine outage
    // makes the collector not ready; restarting it would drop the start and final samples it
    // holds in memory and bring the engine back no sooner.
    for (const [name, indicator] of Object.entries(this.healthIndicators())) {
      this.health.register(name, indicator);
    }
    this.health.register('spool', this.publisher.healthIndicator());
    // Liveness: only the Kafka forwarder having stopped for good (a restart resumes the spool).
    this.health.register('spool-forwarder', this.publisher.livenessIndicator(), {
      probe: 'liveness',
    });
    if (this.startOnBootstrap) await this.start();
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

  async onApplicationShutdown(): Promise<void> {
    await this.watcher.stop();
    await this.collector.stop();
    this.residualStore?.close();
    this.heldFiles?.close();
    // What was sampled goes out, or stays spooled on disk for the next start.
    await this.publisher.close(this.config.shutdownFlushMs);
  }

  /** Health checks: the engine answers, events flow, cycles happen. */
  private healthIndicators(): Record<string, HealthIndicator> {
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
