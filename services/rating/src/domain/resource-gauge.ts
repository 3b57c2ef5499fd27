import { type MeteredSample } from './metered-sample';
import { type RatedInterval } from './rate-batch';

/**
 * A resource's raw gauges over one committed batch: its rated intervals of the batch (in rating
 * order, one series: same tenant, kind, host and name), summed. One point per resource and batch,
 * not per sample (docs/product.md, "What InfluxDB shows"): a caught-up rating's batch holds one
 * sample of a resource, so its point is that sample's, as before; a backlog's batch holds many.
 */
export interface ResourceGauge {
  /** The latest sample (the series, the timestamp, `memory_bytes`). */
  readonly sample: MeteredSample;
  /** CPU nanoseconds and milliseconds of the intervals that have a duration. */
  readonly cpuNs: number;
  readonly durationMs: number;
  /** The highest memory reading of the batch's samples. */
  readonly peakMemoryBytes: number;
}

/**
 * The batch's gauges, one per resource and series: a resource whose series changed inside the
 * batch (host, name, tenant) gets a point in each.
 */
export function resourceGauges(rated: readonly RatedInterval[]): readonly ResourceGauge[] {
  const fold = new GaugeFold();
  for (const r of rated) fold.add(r);
  return fold.gauges;
}

type MutableGauge = { -readonly [K in keyof ResourceGauge]: ResourceGauge[K] };

/** resourceGauges one rated interval at a time (in rating order): keeps one gauge per series. */
export class GaugeFold {
  private readonly out: MutableGauge[] = [];
  /** Each resource's current series' gauge, by resource id. */
  private readonly current = new Map<string, MutableGauge>();

  get gauges(): readonly ResourceGauge[] {
    return this.out;
  }

  add({ sample, interval }: Pick<RatedInterval, 'sample' | 'interval'>): void {
    const durationMs = interval.toMs - interval.fromMs;
    const cpuNs = durationMs > 0 ? Number(interval.cpuUsageNs) : 0;
    const memory = Number(sample.memoryUsageBytes);
    const g = this.current.get(sample.resourceId);
    if (g !== undefined && sameSeries(g.sample, sample)) {
      g.cpuNs += cpuNs;
      g.durationMs += Math.max(0, durationMs);
      if (memory > g.peakMemoryBytes) g.peakMemoryBytes = memory;
      if (sample.observedAtMs >= g.sample.observedAtMs) g.sample = sample;
      return;
    }
    const fresh: MutableGauge = {
      sample,
      cpuNs,
      durationMs: Math.max(0, durationMs),
      peakMemoryBytes: memory,
    };
    this.out.push(fresh);
    this.current.set(sample.resourceId, fresh);
  }
}

function sameSeries(a: MeteredSample, b: MeteredSample): boolean {
  return (
    a.tenantId === b.tenantId &&
    a.resourceKind === b.resourceKind &&
    a.host === b.host &&
    (a.name ?? '') === (b.name ?? '')
  );
}
