// Small helpers the spooled publisher's parts share: an abortable sleep, a timeout around a
// promise, an error as one line for health, and the retry backoff its settings describe.
import { type BackoffPolicy } from '@metering/observability';
import { type SpoolSettings } from './spool.config';

/** Resolves after `ms`, or early (without rejecting) when `signal` aborts. */
export function sleep(
  ms: number,
  signal?: AbortSignal,
  options: { unref?: boolean } = {},
): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (options.unref) timer.unref();
    signal?.addEventListener('abort', done);
  });
}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Equal jitter: many collectors must not hit a broker that just came back in lockstep. */
export function retryBackoff(settings: SpoolSettings): BackoffPolicy {
  return {
    initialMs: settings.backoffInitialMs,
    maxMs: settings.backoffMaxMs,
    jitter: 'equal',
  };
}
