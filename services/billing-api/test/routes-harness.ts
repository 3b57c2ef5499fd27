import assert from 'node:assert/strict';
import { type BillingHarness, type ProblemJson as ErrorBody } from './billing-harness';

/**
 * What the route specs share (billing-routes-tenants, -plans, -usage-invoices): the problem shape
 * and its assertion, and the tenants, keys and usage each spec starts from.
 */

export type { ProblemJson as ErrorBody } from './billing-harness';

/** Starts `h` with acme (Paris) and globex (New York), their keys and some November usage. */
export async function startWithRoutesSeed(
  h: BillingHarness,
): Promise<{ acmeKey: string; acmeKeyId: string; globexKey: string }> {
  await h.start();
  await h.tenant('acme', 'EUR', 'Europe/Paris');
  await h.tenant('globex', 'USD', 'America/New_York');
  const acmeKey = (await h.key('acme')).key;
  const acmeKeyId = (await h.key('acme')).id; // a second key, revoked below
  const globexKey = (await h.key('globex')).key;
  await h.bucket('acme', 'web-1', '2025-11-03T10:00:00Z', '1.5', '2');
  await h.bucket('acme', 'web-2', '2025-11-03T10:00:00Z', '0.5', '1');
  await h.bucket('acme', 'web-1', '2025-11-03T23:00:00Z', '1', '0'); // 4 Nov 00:00 in Paris
  await h.bucket('globex', 'db-1', '2025-11-03T10:00:00Z', '100', '100');
  return { acmeKey, acmeKeyId, globexKey };
}

export function assertError(
  r: { status: number; json: unknown; headers: Headers },
  status: number,
  code: string,
  field?: string,
): ErrorBody {
  const body = r.json as ErrorBody;
  assert.equal(r.status, status, JSON.stringify(body));
  assert.equal(body.code, code, JSON.stringify(body));
  assert.equal(body.status, status);
  assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  assert.equal(
    body.type,
    `tag:metering.billing-api,2026:problem:${code.toLowerCase().replace(/_/g, '-')}`,
  );
  assert.ok(body.title.length > 0 && !body.title.includes(':'), body.title);
  assert.match(body.instance, /^\/v1\//);
  if (field !== undefined) {
    const fields = [body.field, ...(body.errors ?? []).map((e) => e.field)];
    assert.ok(fields.includes(field), `expected field ${field} in ${JSON.stringify(body)}`);
    assert.match(body.detail, new RegExp(field.replace(/[[\].]/g, '\\$&')));
  }
  assert.doesNotMatch(JSON.stringify(body), /at .*\.js:\d+|node_modules|stack/);
  return body;
}
