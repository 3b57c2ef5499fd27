import assert from 'node:assert/strict';
import {
  type ApiAnswer,
  type BillingHarness,
  type ProblemJson as Problem,
} from './billing-harness';

/**
 * What the API-resources specs share (billing-api-lists, -problems, -idempotency, -close-race):
 * the problem and page shapes, the problem assertion, a list walker, and the tenants, keys, plans
 * and closed months each spec starts from.
 */

export type { ProblemJson as Problem } from './billing-harness';

export interface PageJson<T> {
  data: T[];
  nextCursor: string | null;
}

export function assertProblem(r: ApiAnswer, status: number, code: string, field?: string): Problem {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  const p = r.json as Problem;
  assert.equal(p.status, status, r.text);
  assert.equal(p.code, code, r.text);
  assert.equal(
    p.type,
    `tag:metering.billing-api,2026:problem:${code.toLowerCase().replace(/_/g, '-')}`,
  );
  assert.ok(typeof p.title === 'string' && p.title.length > 0, r.text);
  assert.ok(typeof p.detail === 'string' && p.detail.length > 0, r.text);
  assert.ok(p.instance.startsWith('/'), r.text);
  if (field !== undefined) {
    assert.equal(p.field, field, r.text);
    assert.ok(p.detail.includes(field), `the detail names ${field}: ${r.text}`);
  }
  return p;
}

/** Every item of a list, following nextCursor, with the page sizes seen. */
export function walkerFor(
  h: BillingHarness,
): <T>(path: string, key?: string) => Promise<{ items: T[]; pages: number[] }> {
  return async function walk<T>(
    path: string,
    key?: string,
  ): Promise<{ items: T[]; pages: number[] }> {
    const items: T[] = [];
    const pages: number[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 100; i++) {
      const sep = path.includes('?') ? '&' : '?';
      const url: string =
        cursor === null ? path : `${path}${sep}cursor=${encodeURIComponent(cursor)}`;
      const r = await h.call('GET', url, key === undefined ? {} : { key });
      assert.equal(r.status, 200, `${url}: ${r.text}`);
      const page = r.json as PageJson<T>;
      items.push(...page.data);
      pages.push(page.data.length);
      cursor = page.nextCursor;
      if (cursor === null) return { items, pages };
    }
    throw new Error(`${path}: more than 100 pages`);
  };
}

/** Starts `h` and seeds it: five tenants, keys for three, plans, and 2025-02 and 2025-03 closed. */
export async function startWithResources(
  h: BillingHarness,
): Promise<{ acmeKey: string; globexKey: string }> {
  await h.start();
  for (const [id, name] of [
    ['acme', 'Acme'],
    ['acme-labs', 'Acme Labs'],
    ['globex', 'Globex'],
    ['initech', 'Initech'],
    ['omega', 'Ωμέγα 株式会社'],
  ] as const) {
    await h.tenant(id, 'EUR', 'UTC', name);
  }
  const acme = await h.key('acme');
  const globex = await h.key('globex');
  await h.key('initech');
  for (let i = 0; i < 5; i++) {
    await h.plan({ id: 'std', cpu: { tiers: [{ upTo: null, unitPrice: `0.0${i + 1}` }] } });
  }
  await h.plan({ id: 'basic', currency: 'USD', cpu: { tiers: [{ upTo: null, unitPrice: '1' }] } });
  await h.plan({ id: 'zero', cpu: { tiers: [{ upTo: null, unitPrice: '0' }] } });
  await h.assign('acme', 'std', '2025-01-01T00:00:00Z');
  await h.bucket('acme', 'web-1', '2025-02-03T10:00:00Z', '10', '0');
  // 2025-02 and 2025-03 final for every tenant.
  for (const period of ['2025-02', '2025-03']) {
    const r = await h.call('POST', `/v1/periods/${period}/close`);
    assert.equal(r.status, 200, r.text);
  }
  return { acmeKey: acme.key, globexKey: globex.key };
}
