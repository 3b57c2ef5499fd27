import assert from 'node:assert/strict';
import { type BillingHarness, type InvoiceJson } from './billing-harness';

/**
 * What the invoice specs share (billing-invoice-drafts, billing-invoices): the fixtures' plans,
 * tenants and usage, and reading an invoice's lines.
 */

/** GET an invoice as JSON, on `h`. */
export function invoiceReader(
  h: BillingHarness,
): (tenant: string, period: string) => Promise<InvoiceJson> {
  return async (tenant, period) => {
    const r = await h.call('GET', `/v1/tenants/${tenant}/invoices/${period}`);
    assert.equal(r.status, 200, r.text);
    return r.json as InvoiceJson;
  };
}
export const lines = (i: InvoiceJson) => i.lines.map((l) => [l.meter, l.amount]);

/** Starts `h` with the plans, tenants and usage of the hand-computed fixtures. */
export async function startWithInvoiceFixtures(h: BillingHarness): Promise<void> {
  await h.start();
  // Plans (EUR unless said otherwise).
  await h.plan({ id: 'flat-mem', memory: { tiers: [{ upTo: null, unitPrice: '0.0050' }] } });
  await h.plan({
    id: 'std-cpu',
    cpu: {
      tiers: [
        { upTo: '100', unitPrice: '0.040' },
        { upTo: '300', unitPrice: '0.035' },
        { upTo: null, unitPrice: '0.030' },
      ],
    },
  });
  await h.plan({
    id: 'min-mem',
    memory: { tiers: [{ upTo: null, unitPrice: '0.0050' }] },
    minimum: '10.00',
  });
  await h.plan({ id: 'a', cpu: { tiers: [{ upTo: null, unitPrice: '0.04' }] }, minimum: '30' });
  await h.plan({ id: 'b', cpu: { tiers: [{ upTo: null, unitPrice: '0.02' }] } });
  await h.plan({ id: 'one', cpu: { tiers: [{ upTo: null, unitPrice: '1.00' }] } });
  await h.plan({
    id: 'one-inr',
    currency: 'INR',
    cpu: { tiers: [{ upTo: null, unitPrice: '1.00' }] },
  });
  await h.plan({ id: 'half', cpu: { tiers: [{ upTo: null, unitPrice: '0.50' }] } });

  const from = '2025-01-01T00:00:00Z';
  await h.tenant('flat');
  await h.assign('flat', 'flat-mem', from);
  await h.bucket('flat', 'm1', '2025-11-02T00:00:00Z', '0', '400');
  await h.bucket('flat', 'm1', '2025-11-20T00:00:00Z', '0', '320');

  await h.tenant('tiered');
  await h.assign('tiered', 'std-cpu', from);
  await h.bucket('tiered', 'c1', '2025-11-05T00:00:00Z', '150');
  await h.bucket('tiered', 'c2', '2025-11-25T00:00:00Z', '250');

  await h.tenant('minimum');
  await h.assign('minimum', 'min-mem', from);
  await h.bucket('minimum', 'm1', '2025-11-07T12:00:00Z', '0', '720');

  await h.tenant('changer');
  await h.assign('changer', 'a', '2025-10-01T00:00:00Z');
  await h.assign('changer', 'b', '2025-11-16T00:00:00Z');
  await h.bucket('changer', 'w1', '2025-11-10T00:00:00Z', '100');
  await h.bucket('changer', 'w1', '2025-11-20T00:00:00Z', '100');

  // America/New_York: November runs from 04:00Z (EDT) to 05:00Z on 1 Dec (EST).
  await h.tenant('ny', 'EUR', 'America/New_York');
  await h.assign('ny', 'one', from);
  // A rate whose tax needs rounding: the CSV must carry the JSON's figures, not recompute them.
  const taxed = await h.call('PATCH', '/v1/tenants/ny', { body: { taxRate: '19.125' } });
  assert.equal(taxed.status, 200, taxed.text);
  await h.bucket('ny', 'v1', '2025-11-01T03:00:00Z', '1'); // 31 Oct 23:00 local → October
  await h.bucket('ny', 'v1', '2025-11-01T04:00:00Z', '2'); // 1 Nov 00:00 local → November
  await h.bucket('ny', 'v1', '2025-12-01T04:00:00Z', '4'); // 30 Nov 23:00 local → November
  await h.bucket('ny', 'v1', '2025-12-01T05:00:00Z', '8'); // 1 Dec 00:00 local → December

  // Asia/Kolkata (+05:30): hour buckets start at :30 UTC, November at 18:30Z on 31 Oct.
  await h.tenant('kolkata', 'INR', 'Asia/Kolkata');
  await h.assign('kolkata', 'one-inr', from);
  await h.bucket('kolkata', 'v1', '2025-10-31T17:30:00Z', '1'); // 31 Oct 23:00 IST
  await h.bucket('kolkata', 'v1', '2025-10-31T18:30:00Z', '2'); // 1 Nov 00:00 IST
  await h.bucket('kolkata', 'v1', '2025-11-30T17:30:00Z', '4'); // 30 Nov 23:00 IST
  await h.bucket('kolkata', 'v1', '2025-11-30T18:30:00Z', '8'); // 1 Dec 00:00 IST

  await h.tenant('late');
  await h.assign('late', 'half', from);
  await h.bucket('late', 'l1', '2025-10-10T00:00:00Z', '10');
  await h.bucket('late', 'l1', '2025-11-10T00:00:00Z', '2');
}
