import { ObservabilityError } from './observability.errors';

export type HealthStatus = 'up' | 'down';

/** JSON-safe facts about a dependency (broker reachable, lag, last sample age...). */
export type HealthDetail = Readonly<Record<string, unknown>>;

export interface HealthIndicatorResult {
  status: HealthStatus;
  detail?: HealthDetail;
}

/** Checks one dependency. Throwing counts as `down`; so does exceeding the timeout. */
export type HealthIndicator = () => Promise<HealthIndicatorResult>;

export interface HealthCheckResult extends HealthIndicatorResult {
  durationMs: number;
}

export interface HealthReport {
  status: HealthStatus;
  checks: Record<string, HealthCheckResult>;
}

export interface HealthRegistryOptions {
  /** A check that has not answered by then is `down`, so /healthz never hangs. Default 3 s. */
  timeoutMs?: number;
  /** Time source for durations, injectable for tests. */
  now?: () => number;
}

/**
 * The health indicators of a process. Components register theirs at start-up (a Kafka
 * consumer, a database pool) and /healthz aggregates them: up only if every check is up.
 * ObservabilityModule provides one instance; inject it by its class.
 */
export class HealthRegistry {
  private readonly indicators = new Map<string, HealthIndicator>();
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(options: HealthRegistryOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 3_000;
    this.now = options.now ?? Date.now;
  }

  /** Registers a named check; returns a function that removes it again. */
  register(name: string, indicator: HealthIndicator): () => void {
    if (this.indicators.has(name)) {
      throw new ObservabilityError(
        'HEALTH_INDICATOR_DUPLICATE',
        `a health indicator named ${name} is already registered`,
      );
    }
    this.indicators.set(name, indicator);
    return () => {
      if (this.indicators.get(name) === indicator) this.indicators.delete(name);
    };
  }

  names(): string[] {
    return [...this.indicators.keys()];
  }

  /** Runs every check concurrently, each bounded by the timeout. */
  async check(): Promise<HealthReport> {
    const entries = await Promise.all(
      [...this.indicators].map(
        async ([name, indicator]) => [name, await this.runOne(indicator)] as const,
      ),
    );
    const checks = Object.fromEntries(entries);
    const status = entries.every(([, result]) => result.status === 'up') ? 'up' : 'down';
    return { status, checks };
  }

  private async runOne(indicator: HealthIndicator): Promise<HealthCheckResult> {
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
      const result = await Promise.race([indicator(), timeout]);
      return { ...normalise(result), durationMs: this.now() - started };
    } catch (error) {
      // Only the message: /healthz is public-facing and must not leak stack traces.
      const message = error instanceof Error ? error.message : String(error);
      return { status: 'down', detail: { error: message }, durationMs: this.now() - started };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Guards against indicators that resolve to something other than up/down. */
function normalise(result: HealthIndicatorResult): HealthIndicatorResult {
  const status: HealthStatus = result.status === 'up' ? 'up' : 'down';
  return result.detail === undefined ? { status } : { status, detail: result.detail };
}
