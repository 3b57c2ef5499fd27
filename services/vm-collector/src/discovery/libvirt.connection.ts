import type * as LibvirtModule from '@unraid/libvirt' with { 'resolution-mode': 'import' };
import { type BackoffPolicy, backoffDelay } from '@metering/observability/resilience';

// @unraid/libvirt is ESM-only and this service compiles to CommonJS: it is loaded with a
// dynamic import(), which TypeScript keeps as is for module Node16.
export type Libvirt = typeof LibvirtModule;
export type Hypervisor = InstanceType<Libvirt['Hypervisor']>;
export type LibvirtDomain = Awaited<ReturnType<Hypervisor['connectListAllDomains']>>[number];

let loaded: Promise<Libvirt> | undefined;

/** The native binding, loaded once per process. */
export function loadLibvirt(): Promise<Libvirt> {
  loaded ??= import('@unraid/libvirt');
  return loaded;
}

/** A libvirt call that did not answer in time (a hung remote connection). */
export class LibvirtTimeoutError extends Error {
  readonly code = 'LIBVIRT_TIMEOUT';

  constructor(what: string, timeoutMs: number) {
    super(`${what}: no answer within ${timeoutMs} ms`);
    this.name = 'LibvirtTimeoutError';
  }
}

/** The connection is waiting before it tries to connect again. */
export class LibvirtBackoffError extends Error {
  readonly code = 'LIBVIRT_RECONNECT_PENDING';

  constructor(
    readonly uri: string,
    readonly lastError: string,
    retryInMs: number,
  ) {
    super(`${lastError} (reconnecting in ${Math.ceil(retryInMs / 1000)} s)`);
    this.name = 'LibvirtBackoffError';
  }
}

export interface ConnectionStatus {
  readonly uri: string;
  readonly connected: boolean;
  readonly lastError: string | null;
  /** When the last poll through this connection succeeded. */
  readonly lastOkAt: Date | null;
}

/** Between attempts to open a broken connection again: 1 s, 2 s, 4 s … 30 s. */
const RECONNECT_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 30_000, jitter: 'none' };

/**
 * One libvirt connection, opened lazily and opened again after it broke (libvirtd restarted,
 * a remote host went away), with exponential backoff from 1 s to 30 s between attempts.
 */
export class LibvirtConnection {
  private hypervisor: Hypervisor | null = null;
  private lastError: string | null = null;
  private lastOkAt: Date | null = null;
  private retryAtMs = 0;
  /** Failures since the last success. */
  private failures = 0;

  constructor(
    readonly uri: string,
    private readonly callTimeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The open connection; opens it first if needed. Throws LibvirtBackoffError while backing
   * off; any other error means the caller must report failed().
   */
  async open(): Promise<Hypervisor> {
    if (this.hypervisor !== null) return this.hypervisor;
    const waitMs = this.retryAtMs - this.now();
    if (waitMs > 0) throw new LibvirtBackoffError(this.uri, this.lastError ?? 'down', waitMs);
    const { Hypervisor } = await loadLibvirt();
    const hypervisor = new Hypervisor({ uri: this.uri });
    await this.bounded(hypervisor.connectOpen(), 'connect');
    this.hypervisor = hypervisor;
    return hypervisor;
  }

  /** A call through this connection, bounded in time. */
  bounded<T>(call: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new LibvirtTimeoutError(`${this.uri} ${what}`, this.callTimeoutMs)),
        this.callTimeoutMs,
      );
    });
    return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
  }

  succeeded(): void {
    this.lastError = null;
    this.failures = 0;
    this.lastOkAt = new Date(this.now());
  }

  /** The connection is broken: it is dropped and opened again after the backoff. */
  failed(error: unknown): void {
    this.lastError = error instanceof Error ? error.message : String(error);
    this.failures += 1;
    this.retryAtMs = this.now() + backoffDelay(this.failures, RECONNECT_BACKOFF);
    this.drop();
  }

  status(): ConnectionStatus {
    return {
      uri: this.uri,
      connected: this.hypervisor !== null,
      lastError: this.lastError,
      lastOkAt: this.lastOkAt,
    };
  }

  async close(): Promise<void> {
    const hypervisor = this.hypervisor;
    this.hypervisor = null;
    if (hypervisor === null) return;
    try {
      await this.bounded(hypervisor.connectClose(), 'close');
    } catch {
      // Closing a broken or hung connection: nothing more to do.
    }
  }

  private drop(): void {
    const hypervisor = this.hypervisor;
    this.hypervisor = null;
    // Not awaited: a broken connection may never answer, and nothing waits for it.
    hypervisor?.connectClose().catch(() => undefined);
  }
}
