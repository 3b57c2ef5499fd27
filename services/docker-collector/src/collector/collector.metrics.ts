import { type Lifecycle } from '@metering/contracts';
import {
  type Counter,
  type Gauge,
  type Histogram,
  type MetricsRegistry,
} from '@metering/observability';
import { type CollectorMetrics, type ReadErrorKind } from './collector.ports';

/** The collector's Prometheus series (prefix `docker_collector_`). */
export class CollectorMetricsAdapter implements CollectorMetrics {
  private readonly cycleDuration: Histogram;
  private readonly containersSeen: Gauge;
  private readonly samples: Counter<'lifecycle' | 'residual'>;
  private readonly errors: Counter<'kind'>;
  private readonly shortLivedTotal: Counter<'outcome'>;
  private readonly residual: Counter<'parent' | 'attributed'>;
  /** The samples counter's series, looked up once (a sample per container per cycle). */
  private readonly samplesBy = new Map<string, { inc(): void }>();

  constructor(registry: MetricsRegistry, spoolDepth: () => number) {
    this.cycleDuration = registry.histogram({
      name: 'cycle_duration_seconds',
      help: 'Wall time of one sampling cycle (reading every container, publishing its sample)',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    this.containersSeen = registry.gauge({
      name: 'containers_seen',
      help: 'Containers followed (running, with a located usage source)',
    });
    this.samples = registry.counter({
      name: 'samples_published_total',
      help: 'Samples handed to the publisher, by lifecycle; residual=true for parent cgroups',
      labelNames: ['lifecycle', 'residual'],
    });
    this.errors = registry.counter({
      name: 'read_errors_total',
      help: 'Failures by kind; vanished = a cgroup gone mid-read (the container exited)',
      labelNames: ['kind'],
    });
    this.shortLivedTotal = registry.counter({
      name: 'short_lived_containers_total',
      help: 'Containers that lived less than one interval: caught (a sample has their CPU) or missed',
      labelNames: ['outcome'],
    });
    this.residual = registry.counter({
      name: 'residual_cpu_seconds_total',
      help: 'CPU of exited children no container sample carries, per parent cgroup; attributed=true when metered for a tenant',
      labelNames: ['parent', 'attributed'],
    });
    registry.gauge({
      name: 'spool_depth',
      help: 'Samples handed to the publisher and not yet acknowledged by Kafka',
      collect() {
        this.set(spoolDepth());
      },
    });
  }

  cycleCompleted(durationSeconds: number, containers: number): void {
    this.cycleDuration.observe(durationSeconds);
    this.containersSeen.set(containers);
  }

  samplePublished(lifecycle: Lifecycle, residual: boolean): void {
    const key = residual ? `${lifecycle} residual` : lifecycle;
    let series = this.samplesBy.get(key);
    if (series === undefined) {
      series = this.samples.labels({ lifecycle, residual: String(residual) });
      this.samplesBy.set(key, series);
    }
    series.inc();
  }

  readError(kind: ReadErrorKind): void {
    this.errors.inc({ kind });
  }

  shortLived(outcome: 'caught' | 'missed'): void {
    this.shortLivedTotal.inc({ outcome });
  }

  residualCpu(parentPath: string, attributed: boolean, seconds: number): void {
    this.residual.inc({ parent: parentPath, attributed: String(attributed) }, seconds);
  }
}
