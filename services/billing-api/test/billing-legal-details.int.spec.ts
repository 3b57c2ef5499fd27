import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BillingHarness } from './billing-harness';
import { OMEGA, startWithSeller } from './legal-invoices-harness';

/**
 * Billing details on a tenant (PATCH /v1/tenants/:id, a JSON merge patch) against a real
 * billing-api and PostgreSQL: set, kept, cleared; every bad body a 400 naming its field.
 */
const h = new BillingHarness();

before(() => startWithSeller(h));
after(() => h.stop());

describe('PATCH /v1/tenants/:id (billing details, JSON merge patch)', () => {
  test('sets, keeps what is absent, clears with null; non-ASCII names and addresses are fine', async () => {
    const set = await h.call('PATCH', '/v1/tenants/patchy', {
      body: {
        legalName: OMEGA,
        address: ['Λεωφόρος 1', 'Αθήνα 10557', 'Ελλάδα'],
        taxId: 'EL123456789',
        email: 'billing@omega.example',
        taxRate: '24.0',
        paymentTermsDays: 14,
        locale: 'el-gr',
      },
      headers: { 'content-type': 'application/merge-patch+json' },
    });
    assert.equal(set.status, 200, set.text);
    assert.deepEqual((set.json as { billing: unknown }).billing, {
      legalName: OMEGA,
      address: ['Λεωφόρος 1', 'Αθήνα 10557', 'Ελλάδα'],
      taxId: 'EL123456789',
      email: 'billing@omega.example',
      taxRate: '24',
      taxExemptionReason: null,
      paymentTermsDays: 14,
      locale: 'el-GR',
    });
    const partial = await h.call('PATCH', '/v1/tenants/patchy', {
      body: {
        email: null,
        paymentTermsDays: null,
        taxRate: '0',
        taxExemptionReason: 'reverse-charge',
      },
    });
    assert.equal(partial.status, 200, partial.text);
    const billing = (partial.json as { billing: Record<string, unknown> }).billing;
    assert.equal(billing.email, null);
    assert.equal(billing.paymentTermsDays, 30, 'null puts the default back');
    assert.equal(billing.legalName, OMEGA, 'absent members are kept');
    assert.equal(billing.taxExemptionReason, 'reverse-charge');
    const get = await h.call('GET', '/v1/tenants/patchy');
    assert.deepEqual((get.json as { billing: unknown }).billing, billing);
  });

  const bad: [string, unknown, string][] = [
    ['NUL in a name', { legalName: 'A\u0000B' }, 'legalName'],
    ['a control character in an address line', { address: ['ok', 'a\u0007b'] }, 'address[1]'],
    ['a newline in the tax id', { taxId: 'DE1\n2' }, 'taxId'],
    ['a huge name', { legalName: 'x'.repeat(201) }, 'legalName'],
    ['an empty name', { legalName: '   ' }, 'legalName'],
    ['too many address lines', { address: ['1', '2', '3', '4', '5', '6', '7'] }, 'address'],
    ['an address that is a string', { address: 'Main St 1' }, 'address'],
    ['an address line that is a number', { address: [1] }, 'address[0]'],
    ['a negative tax rate', { taxRate: '-1' }, 'taxRate'],
    ['a tax rate over 100', { taxRate: '100.01' }, 'taxRate'],
    ['a tax rate as a JSON number', { taxRate: 19 }, 'taxRate'],
    ['a non-finite tax rate', { taxRate: 'Infinity' }, 'taxRate'],
    ['NaN as a tax rate', { taxRate: 'NaN' }, 'taxRate'],
    ['an exponent', { taxRate: '1e1' }, 'taxRate'],
    ['too many decimals', { taxRate: '7.12345' }, 'taxRate'],
    ['negative payment terms', { paymentTermsDays: -1 }, 'paymentTermsDays'],
    ['fractional payment terms', { paymentTermsDays: 1.5 }, 'paymentTermsDays'],
    ['payment terms as a string', { paymentTermsDays: '30' }, 'paymentTermsDays'],
    ['huge payment terms', { paymentTermsDays: 1e308 }, 'paymentTermsDays'],
    ['an unknown locale', { locale: 'xx-invalid-tag-!!' }, 'locale'],
    ['a locale of the wrong type', { locale: ['de'] }, 'locale'],
    ['an e-mail without @', { email: 'billing.example.com' }, 'email'],
    ['a name of the wrong type', { legalName: { en: 'x' } }, 'legalName'],
    ['an unknown field', { legalNmae: 'typo' }, 'legalNmae'],
    [
      'an exemption with a non-zero rate',
      { taxRate: '19', taxExemptionReason: 'export' },
      'taxExemptionReason',
    ],
    [
      'reverse charge without a tax id',
      { taxRate: '0', taxExemptionReason: 'reverse-charge', taxId: null },
      'taxId',
    ],
    ['a body that is an array', [{ legalName: 'x' }], 'body'],
    ['a body that is a string', 'legalName', 'body'],
  ];
  for (const [what, body, field] of bad) {
    test(`400 naming ${field}: ${what}`, async () => {
      const before = await h.call('GET', '/v1/tenants/plain');
      const r = await h.call('PATCH', '/v1/tenants/plain', { body });
      assert.equal(r.status, 400, r.text);
      const json = r.json as { code: string; field: string; errors?: { field: string }[] };
      assert.equal(json.code, 'VALIDATION_FAILED');
      assert.ok(
        json.field === field || (json.errors ?? []).some((e) => e.field === field),
        `${r.text} does not name ${field}`,
      );
      const afterwards = await h.call('GET', '/v1/tenants/plain');
      assert.deepEqual(afterwards.json, before.json, 'a refused patch changes nothing');
    });
  }

  test('a body that is not JSON, an unknown tenant, a tenant key, no key', async () => {
    const notJson = await h.call('PATCH', '/v1/tenants/plain', { rawBody: '{"legalName":' });
    assert.equal(notJson.status, 400);
    assert.equal((notJson.json as { field: string }).field, 'body');
    assert.equal(
      (await h.call('PATCH', '/v1/tenants/nobody', { body: { legalName: 'x' } })).status,
      404,
    );
    const key = await h.key('plain');
    assert.equal(
      (await h.call('PATCH', '/v1/tenants/plain', { key: key.key, body: {} })).status,
      403,
    );
    assert.equal((await h.call('PATCH', '/v1/tenants/plain', { key: null, body: {} })).status, 401);
  });
});
