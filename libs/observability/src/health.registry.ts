import { ObservabilityError } from './observability.errors';

export type HealthStatus = 'up' | 'down';

/**
 * Which probe an indicator answers:
 * - `readiness`: a dependency answers (database, broker, Docker, libvirt, the disk). Down takes
 *   the process out of traffic and alerts; it never restarts it, because a restart does not
 *   bring PostgreSQL back and would drop what the process holds in memory.
 * - `liveness`: the process itself is broken in a way only a restart cures (a consumer that
 *   stopped for good, a background loop that died). Never a dependency.
 */
export type HealthProbe = 'liveness' | 'readiness';

/** JSON-safe facts about a dependency (broker reachable, lag, last sample age...). */
export type HealthDetail = Readonly<Record<string, unknown>>;

export interface HealthIndicatorResult {
  status: HealthStatus;
  detail?: HealthDetail;
}

/** Checks one thing. Throwing counts as `down`; so does exceeding the timeout. */
export type HealthIndicator = () => Promise<HealthIndicatorResult>;

export interface HealthRegisterOptions {
  /** Default `readiness`: forgetting the option can take a process out of traffic, never restart it. */
  probe?: HealthProbe;
}

export interface HealthCheckResult extends HealthIndicatorResult {
  probe: HealthProbe;
  durationMs: number;
}

export interface HealthReport {
  /** The probe this report answers. */
  probe: HealthProbe;
  status: HealthStatus;
  checks: Record<string, HealthCheckResult>;
}

export interface HealthRegistryOptions {
  /** A check that has not answered by then is `down`, so a probe never hangs. Default 3 s. */
  timeoutMs?: number | undefined;
  /**
   * A check's answer is reused for this long. Probes are unauthenticated and never rate
   * limited, so without it a flood of /readyz would be a flood of database round trips.
   * Default 1 s (orchestrators probe every few seconds); 0 turns it off.
   */
  cacheMs?: number | undefined;
  /** Time source for durations, injectable for tests. */
  now?: () => number;
}

interface Registered {
  readonly indicator: HealthIndicator;
  readonly probe: HealthProbe;
}

interface Run {
  readonly result: Promise<HealthIndicatorResult>;
  readonly startedAt: number;
  settledAt: number | undefined;
}

/**
 * The health indicators of a process. Components register theirs at start-up (a Kafka
 * consumer, a database pool), each for one probe:
 * - liveness (/livez) runs only the liveness indicators: it never touches a dependency, so an
 *   outage of PostgreSQL, Kafka, Docker or libvirt cannot get the process restarted;
 * - readiness (/readyz, /healthz) runs every indicator: a process that is not alive is not
 *   ready either.
 * Each indicator is bounded by the timeout. Probes that arrive while a run of it is younger than
 * the timeout, or within `cacheMs` of its answer, share that run: a flood of probes costs about
 * one check per second (one pooled database connection, not one per request). A run past the
 * timeout is reported down and abandoned, and the next probe starts afresh, so one check that
 * never settles cannot keep a probe down for good.
 * ObservabilityModule provides one instance; inject it by its class.
 */
export class HealthRegistry {
  private readonly indicators = new Map<string, Registered>();
  private readonly running = new Map<string, Run>();
  private readonly timeoutMs: number;
  private readonly cacheMs: number;
  private readonly now: () => number;

  constructor(options: HealthRegistryOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 3_000;
    this.cacheMs = options.cacheMs ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  /** Registers a named check (names are unique across probes); returns a function that removes it. */
  register(
    name: string,
    indicator: HealthIndicator,
    options: HealthRegisterOptions = {},
  ): () => void {
    if (this.indicators.has(name)) {
      throw new ObservabilityError(
        'HEALTH_INDICATOR_DUPLICATE',
        `a health indicator named ${name} is already registered`,
      );
    }
    const entry: Registered = { indicator, probe: options.probe ?? 'readiness' };
    this.indicators.set(name, entry);
    return () => {
      if (this.indicators.get(name) !== entry) return;
      this.indicators.delete(name);
      this.running.delete(name);
    };
  }

  /** Names of the indicators a probe runs (every indicator for readiness). */
  names(probe: HealthProbe = 'readiness'): string[] {
    return [...this.indicators]
      .filter(([, entry]) => runsIn(entry.probe, probe))
      .map(([name]) => name);
  }

  /** Runs the probe's checks concurrently, each bounded by the timeout; never rejects. */
  async check(probe: HealthProbe = 'readiness'): Promise<HealthReport> {
    const entries = await Promise.all(
      [...this.indicators]
        .filter(([, entry]) => runsIn(entry.probe, probe))
        .map(async ([name, entry]) => [name, await this.runOne(name, entry)] as const),
    );
    const checks = Object.fromEntries(entries);
    const status = entries.every(([, result]) => result.status === 'up') ? 'up' : 'down';
    return { probe, status, checks };
  }

  liveness(): Promise<HealthReport> {
    return this.check('liveness');
  }

  readiness(): Promise<HealthReport> {
    return this.check('readiness');
  }

  private async runOne(name: string, entry: Registered): Promise<HealthCheckResult> {
    const started = this.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ObservabilityError(
              'HEALTH_INDICATOR_TIMEOUT',
              `no answer within ${this.timeoutMs} ms`,
            ),
          ),
        this.timeoutMs,
      );
    });
    try {
      const result = await Promise.race([this.shared(name, entry.indicator), timeout]);
      return { ...normalise(result), probe: entry.probe, durationMs: this.now() - started };
    } catch (error) {
      // Only the message: probes are unauthenticated and must not leak stack traces.
      const message = error instanceof Error ? error.message : String(error);
      return {
        status: 'down',
        probe: entry.probe,
        detail: { error: message },
        durationMs: this.now() - started,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /** The indicator's run still pending within the timeout or answered within cacheMs, or a new one. */
  private shared(name: string, indicator: HealthIndicator): Promise<HealthIndicatorResult> {
    const now = this.now();
    const current = this.running.get(name);
    if (current !== undefined) {
      const fresh =
        current.settledAt === undefined
          ? now - current.startedAt < this.timeoutMs
          : now - current.settledAt < this.cacheMs;
      if (fresh) return current.result;
    }
    // Inside a promise chain, so an indicator that throws synchronously rejects here too.
    const result = Promise.resolve().then(indicator);
    const run: Run = { result, startedAt: now, settledAt: undefined };
    this.running.set(name, run);
    const settle = (): void => {
      run.settledAt = this.now();
    };
    void result.then(settle, settle);
    return result;
  }
}

function runsIn(registered: HealthProbe, probe: HealthProbe): boolean {
  return probe === 'readiness' || registered === 'liveness';
}

/**
 * Guards the HTTP answer against indicators that resolve to something other than up/down or to
 * a detail JSON cannot encode (a bigint, a cycle), which would otherwise turn a probe into a 500.
 */
function normalise(result: HealthIndicatorResult): HealthIndicatorResult {
  const status: HealthStatus = result.status === 'up' ? 'up' : 'down';
  if (result.detail === undefined) return { status };
  try {
    JSON.stringify(result.detail);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { status, detail: { error: `detail not JSON: ${message}` } };
  }
  return { status, detail: result.detail };
}
