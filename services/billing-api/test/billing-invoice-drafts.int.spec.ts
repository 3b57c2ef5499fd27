import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BillingHarness } from './billing-harness';
import { invoiceReader, lines, startWithInvoiceFixtures } from './invoices-harness';

/**
 * Draft invoices against hand-computed fixtures, on a real billing-api and PostgreSQL: flat,
 * graduated tiers, a minimum commitment, a mid-month plan change, and month boundaries in New
 * York and Kolkata.
 */
const h = new BillingHarness();
const invoice = invoiceReader(h);

before(() => startWithInvoiceFixtures(h));
after(() => h.stop());

describe('drafts against hand-computed fixtures', () => {
  test('flat: 720 GiB-hours × 0.0050 = 3.60', async () => {
    const i = await invoice('flat', '2025-11');
    assert.equal(i.status, 'draft');
    assert.equal(i.number, null);
    assert.equal(i.contentHash, null);
    assert.deepEqual(lines(i), [['memory', '3.60']]);
    assert.equal(i.lines[0]?.quantity, '720');
    assert.equal(i.lines[0]?.unit, 'GiB-hour');
    assert.equal(i.lines[0]?.unitPrice, '0.005');
    assert.equal(i.total, '3.60');
  });

  test('graduated tiers over the month: 400 h = 100 × 0.040 + 200 × 0.035 + 100 × 0.030 = 14.00', async () => {
    const i = await invoice('tiered', '2025-11');
    assert.deepEqual(lines(i), [['cpu', '14.00']]);
    assert.deepEqual(
      i.lines[0]?.tiers?.map((t) => [t.tier, t.quantity]),
      [
        [1, '100'],
        [2, '200'],
        [3, '100'],
      ],
    );
    assert.deepEqual(
      i.resources.map((r) => [r.resourceId, r.cpu.quantity]),
      [
        ['c1', '150'],
        ['c2', '250'],
      ],
    );
  });

  test('minimum commitment: 3.60 of usage, 10.00 committed → a 6.40 minimum line', async () => {
    const i = await invoice('minimum', '2025-11');
    assert.deepEqual(lines(i), [
      ['memory', '3.60'],
      ['minimum', '6.40'],
    ]);
    assert.equal(i.subtotal, '3.60');
    assert.equal(i.total, '10.00');
  });

  test('mid-month plan change: 4.00 + 2.00, minimum 30 × 15/30 days = 15.00', async () => {
    const i = await invoice('changer', '2025-11');
    assert.deepEqual(lines(i), [
      ['cpu', '4.00'],
      ['cpu', '2.00'],
      ['minimum', '9.00'],
    ]);
    assert.equal(i.lines[1]?.from, '2025-11-16T00:00:00.000Z');
    assert.equal(i.minimum.prorated, '15.00');
    assert.equal(i.total, '15.00');
  });

  test('America/New_York: usage on either side of local midnight lands in its own month', async () => {
    assert.equal((await invoice('ny', '2025-10')).total, '1.00');
    assert.equal((await invoice('ny', '2025-11')).total, '6.00');
    assert.equal((await invoice('ny', '2025-12')).total, '8.00');
  });

  test('Asia/Kolkata: the same at a half-hour offset, in INR', async () => {
    const oct = await invoice('kolkata', '2025-10');
    const nov = await invoice('kolkata', '2025-11');
    assert.equal(oct.total, '1.00');
    assert.equal(nov.total, '6.00');
    assert.equal(nov.currency, 'INR');
    assert.equal((await invoice('kolkata', '2025-12')).total, '8.00');
    const days = await h.call(
      'GET',
      '/v1/tenants/kolkata/usage?from=2025-10-31T00:00:00Z&to=2025-12-01T00:00:00Z&granularity=day',
    );
    assert.deepEqual(
      (days.json as { items: { start: string; cpuCoreSeconds: string }[] }).items.map((x) => [
        x.start,
        x.cpuCoreSeconds,
      ]),
      [
        ['2025-10-30T18:30:00.000Z', '3600'],
        ['2025-10-31T18:30:00.000Z', '7200'],
        ['2025-11-29T18:30:00.000Z', '14400'],
        ['2025-11-30T18:30:00.000Z', '28800'],
      ],
    );
  });
});
