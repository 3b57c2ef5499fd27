import assert from 'node:assert/strict';
import { type ApiAnswer, type BillingHarness } from './billing-harness';

/** What the fuzz specs share: the seed they start from and what every answer must be. */

/** Starts `h` with acme on a plan, usage of acme, Acme and an unregistered id; acme's key. */
export async function startFuzzHarness(h: BillingHarness): Promise<string> {
  await h.start({ UNBILLED_REFRESH_MS: '0' });
  await h.tenant('acme');
  await h.plan({ id: 'std', cpu: { tiers: [{ upTo: null, unitPrice: '0.04' }] } });
  await h.assign('acme', 'std', '2025-01-01T00:00:00Z');
  await h.bucket('acme', 'r1', '2025-11-03T10:00:00Z', '1', '1');
  await h.bucket('Acme', 'r1', '2025-11-03T10:00:00Z', '1', '1');
  await h.bucket('ghost\u0001', 'r1', '2025-11-03T10:00:00Z', '1', '1');
  return (await h.key('acme')).key;
}

export interface ErrorBody {
  status: number;
  code: string;
  detail: string;
  field?: string;
}

/** What every answer must be, whatever was sent. */
export function assertSound(r: ApiAnswer, what: string): void {
  assert.ok(r.status < 500, `${what} → ${r.status} ${r.text.slice(0, 500)}`);
  assert.doesNotMatch(r.text, /\n\s+at |node_modules|\.js:\d+/, what);
  if (r.status === 400) {
    const body = r.json as ErrorBody;
    assert.equal(body.code, 'VALIDATION_FAILED', `${what} → ${r.text.slice(0, 500)}`);
    assert.ok(
      typeof body.field === 'string' && body.field.length > 0,
      `${what}: a 400 names its field → ${r.text.slice(0, 500)}`,
    );
    assert.ok(body.detail.includes(body.field), `${what}: the detail names ${body.field}`);
  }
}
