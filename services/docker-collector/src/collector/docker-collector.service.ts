import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import {
  createLogger,
  HealthRegistry,
  type Logger,
  MetricsRegistry,
  ROOT_LOGGER,
} from '@metering/observability';
import { observedCollectorClock } from '@metering/spool';
import { DOCKER_COLLECTOR_CONFIG, type DockerCollectorConfig } from '../config';
import { SAMPLE_PUBLISHER } from '../publishing/publisher.factory';
import { type SamplePublisher } from '../publishing/sample.publisher';
import { CollectorMetricsAdapter } from './collector.metrics';
import { DockerCollectorRuntime } from './docker-collector.runtime';

/** Runs the collector inside Nest: starts after HTTP is wired, stops on SIGTERM. */
@Injectable()
export class DockerCollectorService implements OnApplicationBootstrap, OnApplicationShutdown {
  private runtime: DockerCollectorRuntime | null = null;

  constructor(
    @Inject(DOCKER_COLLECTOR_CONFIG) private readonly config: DockerCollectorConfig,
    @Inject(SAMPLE_PUBLISHER) private readonly publisher: SamplePublisher,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
    private readonly metrics: MetricsRegistry,
    private readonly health: HealthRegistry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const runtime = await DockerCollectorRuntime.create(this.config, {
      publisher: this.publisher,
      metrics: new CollectorMetricsAdapter(this.metrics, () => this.publisher.depth()),
      logger: this.logger,
      // Samples are stamped by a monotonic clock anchored to the wall clock (ADR 0009); its
      // steps are counted in docker_collector_clock_steps_total and logged.
      clock: observedCollectorClock({
        metrics: this.metrics,
        logger: createLogger('CollectorClock', { parent: this.logger }),
      }),
    });
    // Readiness only: Docker answering, cycles happening, the spool writable. An engine outage
    // makes the collector not ready; restarting it would drop the start and final samples it
    // holds in memory and bring the engine back no sooner.
    for (const [name, indicator] of Object.entries(runtime.healthIndicators())) {
      this.health.register(name, indicator);
    }
    this.health.register('spool', this.publisher.healthIndicator());
    // Liveness: only the Kafka forwarder having stopped for good (a restart resumes the spool).
    this.health.register('spool-forwarder', this.publisher.livenessIndicator(), {
      probe: 'liveness',
    });
    await runtime.start();
    this.runtime = runtime;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runtime?.stop();
    // What was sampled goes out, or stays spooled on disk for the next start.
    await this.publisher.close(this.config.shutdownFlushMs);
  }
}
