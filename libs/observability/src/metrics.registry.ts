import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';
import { ObservabilityError } from './observability.errors';
import { EVENT_LOOP_LAG_RESOLUTION_MS, registerRestingCostMetrics } from './resting-cost.metrics';

export interface MetricsRegistryOptions {
  /** Becomes the `service` label on every series and, sanitised, the metric name prefix. */
  serviceName: string;
  /** Overrides the prefix derived from serviceName (`billing-api` → `billing_api_`). */
  prefix?: string;
  /** Process metrics (CPU, memory, event loop lag and utilisation, context switches, GC, handles). Default true. */
  collectDefaultMetrics?: boolean | undefined;
  /** Further labels put on every series, e.g. `{ host }` for collectors. */
  defaultLabels?: Readonly<Record<string, string>>;
}

/** What a helper takes: prom-client's configuration minus the parts this wrapper owns. */
export type CounterOptions<L extends string> = Omit<CounterConfiguration<L>, 'registers'>;
export type GaugeOptions<L extends string> = Omit<GaugeConfiguration<L>, 'registers'>;
export type HistogramOptions<L extends string> = Omit<HistogramConfiguration<L>, 'registers'>;

/**
 * One prom-client Registry per service (never the global one, so two registries in one test
 * process do not collide). Process metrics keep their standard names, so stock dashboards
 * work; the service's own metrics get the service prefix.
 */
export class MetricsRegistry {
  readonly registry = new Registry();
  readonly prefix: string;
  readonly serviceName: string;

  constructor(options: MetricsRegistryOptions) {
    this.serviceName = options.serviceName;
    this.prefix = options.prefix ?? `${metricNamePart(options.serviceName)}_`;
    this.registry.setDefaultLabels({ service: options.serviceName, ...options.defaultLabels });
    if (options.collectDefaultMetrics ?? true) {
      collectDefaultMetrics({
        register: this.registry,
        eventLoopMonitoringPrecision: EVENT_LOOP_LAG_RESOLUTION_MS,
      });
      registerRestingCostMetrics(this.registry);
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Prometheus text exposition of every registered series. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * A counter named `<prefix><name>`. Asking twice for the same name returns the same
   * counter, so independent components (two producers in one service) can share it.
   */
  counter<L extends string = never>(options: CounterOptions<L>): Counter<L> {
    const name = this.prefix + options.name;
    const existing = this.existing(name, Counter);
    if (existing) return existing;
    return new Counter<L>({ ...options, name, registers: [this.registry] });
  }

  gauge<L extends string = never>(options: GaugeOptions<L>): Gauge<L> {
    const name = this.prefix + options.name;
    const existing = this.existing(name, Gauge);
    if (existing) return existing;
    return new Gauge<L>({ ...options, name, registers: [this.registry] });
  }

  histogram<L extends string = never>(options: HistogramOptions<L>): Histogram<L> {
    const name = this.prefix + options.name;
    const existing = this.existing(name, Histogram);
    if (existing) return existing;
    return new Histogram<L>({ ...options, name, registers: [this.registry] });
  }

  private existing<T>(name: string, kind: abstract new (...args: never[]) => T): T | undefined {
    const metric = this.registry.getSingleMetric(name);
    if (metric === undefined) return undefined;
    if (metric instanceof kind) return metric;
    throw new ObservabilityError(
      'METRIC_TYPE_CONFLICT',
      `metric ${name} is already registered with another type`,
    );
  }
}

/** Prometheus metric names allow [a-zA-Z0-9_:]; service names use dashes. */
function metricNamePart(value: string): string {
  return value.replace(/[^a-zA-Z0-9_]/g, '_');
}
