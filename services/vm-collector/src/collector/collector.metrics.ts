import {
  type Counter,
  type Gauge,
  type Histogram,
  type MetricsRegistry,
} from '@metering/observability';
import { type Lifecycle } from '@metering/contracts';

export type CollectorErrorKind =
  'connection' | 'domain_read' | 'metadata' | 'publish' | 'cycle' | 'state';
export type PollKind = 'poll' | 'sample';

/**
 * The collector's own series (prefix `vm_collector_`); the publisher registers its own
 * (spool depth, sends, drops) in the same registry.
 */
export class CollectorMetrics {
  private readonly cycleDuration: Histogram<'kind'>;
  private readonly domainsListed: Gauge<'uri'>;
  private readonly domainsActive: Gauge<'uri'>;
  private readonly connectionUp: Gauge<'uri'>;
  private readonly instances: Gauge;
  private readonly waiting: Gauge;
  private readonly samples: Counter<'lifecycle'>;
  private readonly errors: Counter<'kind'>;

  constructor(
    registry: MetricsRegistry,
    depth: () => number,
    /** Domains whose CPU time is read from their cgroup (DomainSource.cpuFromCgroups). */
    fromCgroups: () => number = () => 0,
  ) {
    this.cycleDuration = registry.histogram({
      name: 'cycle_duration_seconds',
      help: 'Duration of one poll of every libvirt connection; kind=sample when running samples were due',
      labelNames: ['kind'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.domainsListed = registry.gauge({
      name: 'domains_listed',
      help: 'Domains of the connection, active or not, at its last full listing (every METADATA_REFRESH_MS)',
      labelNames: ['uri'],
    });
    this.domainsActive = registry.gauge({
      name: 'domains_active',
      help: 'Active domains read by the last successful poll of the connection',
      labelNames: ['uri'],
    });
    this.connectionUp = registry.gauge({
      name: 'libvirt_connection_up',
      help: '1 when the last poll of the libvirt connection succeeded',
      labelNames: ['uri'],
    });
    this.instances = registry.gauge({
      name: 'instances_tracked',
      help: 'VM instances (boots) being sampled',
    });
    this.waiting = registry.gauge({
      name: 'instances_waiting',
      help: 'Starting domains waiting for their QEMU process to be readable',
    });
    this.samples = registry.counter({
      name: 'samples_published_total',
      help: 'Samples handed to the publisher (spool), by lifecycle',
      labelNames: ['lifecycle'],
    });
    this.errors = registry.counter({
      name: 'errors_total',
      help: 'Errors: connection (a libvirt connection failed), domain_read, metadata, publish, cycle',
      labelNames: ['kind'],
    });
    registry.gauge({
      name: 'domains_cpu_from_cgroup',
      help: 'Domains whose CPU time is read from their cgroup (it agreed with libvirt); the others are asked from libvirt at every sample',
      collect() {
        this.set(fromCgroups());
      },
    });
    registry.gauge({
      name: 'publisher_depth',
      help: 'Samples queued by the publisher (spool) and not yet acknowledged by Kafka',
      collect() {
        this.set(depth());
      },
    });
  }

  polled(kind: PollKind, seconds: number): void {
    this.cycleDuration.observe({ kind }, seconds);
  }

  connection(uri: string, up: boolean, listed?: number, active?: number): void {
    this.connectionUp.set({ uri }, up ? 1 : 0);
    if (listed !== undefined) this.domainsListed.set({ uri }, listed);
    if (active !== undefined) this.domainsActive.set({ uri }, active);
  }

  tracked(instances: number, waiting: number): void {
    this.instances.set(instances);
    this.waiting.set(waiting);
  }

  published(lifecycle: Lifecycle): void {
    this.samples.inc({ lifecycle });
  }

  error(kind: CollectorErrorKind, count = 1): void {
    this.errors.inc({ kind }, count);
  }

  /** Series exist at 0 from the start, so rate() and alerts work before the first event. */
  initialise(uris: readonly string[]): void {
    for (const lifecycle of ['start', 'running', 'final'] as const)
      this.samples.inc({ lifecycle }, 0);
    for (const kind of [
      'connection',
      'domain_read',
      'metadata',
      'publish',
      'cycle',
      'state',
    ] as const) {
      this.errors.inc({ kind }, 0);
    }
    for (const uri of uris) this.connectionUp.set({ uri }, 0);
  }
}
