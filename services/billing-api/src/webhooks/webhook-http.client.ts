import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { blockedAddressReason, type WebhookUrlPolicy } from './webhook-url.policy';

export interface WebhookResponse {
  readonly status: number;
  readonly latencyMs: number;
  /** The response body's first 1 KiB, as text (NUL and invalid UTF-8 replaced). */
  readonly head: string;
}

/** The request could not be made or answered (DNS, refused address, connection, timeout). */
export class WebhookRequestError extends Error {
  constructor(
    message: string,
    readonly latencyMs: number,
  ) {
    super(message);
    this.name = 'WebhookRequestError';
  }
}

const HEAD_BYTES = 1024;

/**
 * POSTs a delivery. The host is resolved here, every address checked against the URL policy,
 * and the connection pinned to the address that passed (a custom `lookup`), so a DNS answer that
 * changes between the check and the connect (rebinding) cannot redirect it. Redirects are not
 * followed: a 3xx is a failed attempt. TLS still verifies the certificate for the host name.
 */
export async function postWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: { timeoutMs: number; policy: WebhookUrlPolicy },
): Promise<WebhookResponse> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const target = new URL(url);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  let addresses: { address: string; family: number }[];
  if (isIP(host) !== 0) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await lookup(host, { all: true, verbatim: true });
    } catch (error) {
      throw new WebhookRequestError(`DNS: ${(error as Error).message}`, elapsed());
    }
  }
  const reasons: string[] = [];
  const pinned = addresses.find((a) => {
    const reason = blockedAddressReason(a.address, options.policy.allowedCidrs);
    if (reason !== null) reasons.push(reason);
    return reason === null;
  });
  if (pinned === undefined) {
    throw new WebhookRequestError(`refused by the URL policy: ${reasons.join('; ')}`, elapsed());
  }
  const pinnedLookup: LookupFunction = (_hostname, opts, callback) => {
    if ((opts as { all?: boolean }).all === true) {
      (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [
        pinned,
      ]);
    } else callback(null, pinned.address, pinned.family);
  };
  const transport = target.protocol === 'https:' ? https : http;
  return new Promise<WebhookResponse>((resolve, reject) => {
    const request = transport.request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body, 'utf8')) },
        lookup: pinnedLookup,
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          const head = Buffer.concat(chunks)
            .subarray(0, HEAD_BYTES)
            .toString('utf8')
            // PostgreSQL text cannot hold NUL.
            .replaceAll('\u0000', '\uFFFD');
          resolve({ status: response.statusCode ?? 0, latencyMs: elapsed(), head });
          response.destroy();
        };
        response.on('data', (chunk: Buffer) => {
          if (size < HEAD_BYTES) chunks.push(chunk);
          size += chunk.length;
          if (size >= HEAD_BYTES) finish();
        });
        response.on('end', finish);
        response.on('error', finish);
      },
    );
    const timer = setTimeout(() => {
      request.destroy(new Error(`no answer within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(new WebhookRequestError(error.message, elapsed()));
    });
    request.end(body);
  });
}
