import { type InfluxTarget } from '../config';

/** A failed write; `retriable` says whether the same points may succeed later. */
export class InfluxWriteError extends Error {
  readonly code = 'INFLUX_WRITE_FAILED';
  constructor(
    message: string,
    readonly retriable: boolean,
    readonly status: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InfluxWriteError';
  }
}

export interface LineWriter {
  /** Writes line-protocol lines (timestamps in ms) in one request. */
  write(lines: readonly string[]): Promise<void>;
}

/**
 * Writes line protocol over HTTP to InfluxDB's v1 API (`/write?db=&precision=ms`: InfluxDB 1.x,
 * and 2.x/3.x through their v1-compatible endpoint) or its v2 API (`/api/v2/write?org=&bucket=`
 * with a token). Both overwrite a point with the same series and timestamp, which makes every
 * write of the rating sinks idempotent.
 */
export class InfluxHttpWriter implements LineWriter {
  private readonly writeUrl: string;
  private readonly headers: Record<string, string>;
  private databaseEnsured = false;

  constructor(
    private readonly target: InfluxTarget,
    private readonly timeoutMs: number,
  ) {
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
    if (target.api === 'v1') {
      const params = new URLSearchParams({ db: target.database, precision: 'ms' });
      if (target.retentionPolicy !== null) params.set('rp', target.retentionPolicy);
      this.writeUrl = `${target.url}/write?${params.toString()}`;
      if (target.token !== null) headers.authorization = `Token ${target.token}`;
      else if (target.username !== null) {
        const basic = Buffer.from(`${target.username}:${target.password ?? ''}`).toString('base64');
        headers.authorization = `Basic ${basic}`;
      }
    } else {
      const params = new URLSearchParams({
        org: target.org,
        bucket: target.bucket,
        precision: 'ms',
      });
      this.writeUrl = `${target.url}/api/v2/write?${params.toString()}`;
      headers.authorization = `Token ${target.token}`;
    }
    this.headers = headers;
  }

  get description(): string {
    return this.target.api === 'v1'
      ? `${this.target.url} v1 database ${this.target.database}`
      : `${this.target.url} v2 bucket ${this.target.bucket}`;
  }

  async write(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    // InfluxDB 1.x answers 404 "database not found" until it exists; create it once (v1 only,
    // idempotent), then write again.
    if (this.target.api === 'v1' && !this.databaseEnsured) await this.ensureDatabase();
    await this.post(this.writeUrl, lines.join('\n'));
  }

  /**
   * CREATE DATABASE through /query (v1): a no-op when it exists. A user without admin rights (a
   * write-only user, as k8s/base/influxdb.yaml gives rating) is answered 403: the database is
   * then the operator's to create, and the write that follows says whether it exists (404).
   */
  async ensureDatabase(): Promise<void> {
    if (this.target.api !== 'v1') return;
    const body = new URLSearchParams({
      q: `CREATE DATABASE "${this.target.database.replace(/"/g, '\\"')}"`,
    });
    const response = await this.request(`${this.target.url}/query`, body.toString(), {
      'content-type': 'application/x-www-form-urlencoded',
    });
    const text = await response.text();
    if (response.status === 403) {
      this.databaseEnsured = true;
      return;
    }
    if (!response.ok || text.includes('"error"')) {
      throw new InfluxWriteError(
        `CREATE DATABASE ${this.target.database}: HTTP ${response.status} ${text.slice(0, 200)}`,
        isRetriableStatus(response.status),
        response.status,
      );
    }
    this.databaseEnsured = true;
  }

  private async post(url: string, body: string): Promise<void> {
    const response = await this.request(url, body, {});
    if (response.status === 204 || response.ok) {
      await response.arrayBuffer();
      return;
    }
    const text = (await response.text()).slice(0, 300);
    if (response.status === 404 && this.target.api === 'v1') this.databaseEnsured = false;
    throw new InfluxWriteError(
      `write to ${this.description}: HTTP ${response.status} ${text}`,
      isRetriableStatus(response.status),
      response.status,
    );
  }

  private async request(
    url: string,
    body: string,
    extraHeaders: Record<string, string>,
  ): Promise<Response> {
    try {
      return await fetch(url, {
        method: 'POST',
        headers: { ...this.headers, ...extraHeaders },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      // Refused, reset, DNS, timeout: the server may be back later.
      const reason =
        error instanceof Error
          ? error.cause instanceof Error
            ? error.cause.message
            : error.message
          : String(error);
      throw new InfluxWriteError(
        `InfluxDB ${this.description} unreachable: ${reason}`,
        true,
        null,
        {
          cause: error,
        },
      );
    }
  }
}

/**
 * 5xx, 429 (rate limited), 408 and 404 (v1: database not created yet) may succeed later; other
 * 4xx (a malformed point, a field type conflict, bad credentials) never will for these points.
 */
function isRetriableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408 || status === 404;
}
