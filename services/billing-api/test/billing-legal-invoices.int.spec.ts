import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  invoiceContentHash,
  type InvoiceDocument,
  REVERSE_CHARGE_NOTE,
} from '../src/invoices/domain';
import { decodeInvoiceEvent } from '@metering/contracts';
import { BillingHarness } from './billing-harness';

const run = promisify(execFile);
const h = new BillingHarness();
const OMEGA = 'Ωμέγα 株式会社';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function pdfToText(pdf: Buffer): Promise<string> {
  assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
  const file = join(mkdtempSync(join(tmpdir(), 'billing-legal-')), 'doc.pdf');
  writeFileSync(file, pdf);
  const { stdout } = await run('pdftotext', ['-layout', file, '-'], { timeout: 20_000 });
  return stdout;
}

async function getPdf(path: string, key?: string): Promise<Buffer> {
  const r = await h.call('GET', path, key === undefined ? {} : { key });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get('content-type'), 'application/pdf');
  return r.buffer;
}

const invoiceJson = async (tenant: string, period: string) => {
  const r = await h.call('GET', `/v1/tenants/${tenant}/invoices/${period}`);
  assert.equal(r.status, 200, r.text);
  return r.json as InvoiceDocument;
};

before(async () => {
  await h.start({
    SELLER_LEGAL_NAME: 'Test Cloud GmbH',
    SELLER_ADDRESS: 'Hauptstraße 1|10115 Berlin|Germany',
    SELLER_TAX_ID: 'DE123456789',
    SELLER_IBAN: 'DE89370400440532013000',
    SELLER_BIC: 'COBADEFFXXX',
  });
  await h.plan({ id: 'one', cpu: { tiers: [{ upTo: null, unitPrice: '1.00' }] } });
  for (const [id, name] of [
    ['omega', OMEGA],
    ['rc', 'Reverse GmbH'],
    ['plain', 'Plain'],
    ['credit', 'Credit AG'],
    ['patchy', 'Patchy'],
  ] as const) {
    await h.tenant(id, 'EUR', 'UTC', name);
    await h.assign(id, 'one', '2025-01-01T00:00:00Z');
  }
  await h.bucket('omega', 'c1', '2025-11-03T00:00:00Z', '100');
  await h.bucket('rc', 'c1', '2025-11-03T00:00:00Z', '10');
  await h.bucket('plain', 'c1', '2025-11-03T00:00:00Z', '1');
  await h.bucket('credit', 'c1', '2025-11-03T00:00:00Z', '30');
  await h.bucket('credit', 'c2', '2025-11-04T00:00:00Z', '20');
});
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

describe('final invoices: seller, buyer, tax, due date, a Unicode PDF stored once', () => {
  let omegaPdf: Buffer;

  before(async () => {
    const omega = await h.call('PATCH', '/v1/tenants/omega', {
      body: {
        legalName: OMEGA,
        address: ['Тверская 1', 'Москва'],
        taxRate: '19',
        paymentTermsDays: 14,
        locale: 'de-DE',
      },
    });
    assert.equal(omega.status, 200, omega.text);
    const rc = await h.call('PATCH', '/v1/tenants/rc', {
      body: { taxId: 'ATU12345678', taxRate: '0', taxExemptionReason: 'reverse-charge' },
    });
    assert.equal(rc.status, 200, rc.text);
    const credit = await h.call('PATCH', '/v1/tenants/credit', { body: { taxRate: '20' } });
    assert.equal(credit.status, 200, credit.text);
    // The draft shows the details before the close.
    const draft = await invoiceJson('omega', '2025-11');
    assert.deepEqual(
      [draft.status, draft.net, draft.tax, draft.gross, draft.dueDate],
      ['draft', '100.00', '19.00', '119.00', null],
    );
    const close = await h.call('POST', '/v1/periods/2025-11/close');
    assert.equal(close.status, 200, close.text);
  });

  test('the JSON carries seller, buyer, tax lines, net/tax/gross and the due date; its content hash verifies', async () => {
    const i = await invoiceJson('omega', '2025-11');
    assert.equal(i.status, 'final');
    assert.equal(i.seller?.legalName, 'Test Cloud GmbH');
    assert.deepEqual(i.buyer, {
      legalName: OMEGA,
      address: ['Тверская 1', 'Москва'],
      taxId: null,
      email: null,
    });
    assert.deepEqual(i.taxLines, [
      { ratePercent: '19', base: '100.00', amount: '19.00', exemptionReason: null },
    ]);
    assert.deepEqual([i.total, i.net, i.tax, i.gross], ['100.00', '100.00', '19.00', '119.00']);
    const issueDay = (i.issuedAt ?? '').slice(0, 10);
    assert.equal(
      i.dueDate,
      new Date(Date.parse(`${issueDay}T00:00:00Z`) + 14 * 86_400_000).toISOString().slice(0, 10),
    );
    assert.equal(invoiceContentHash(i), i.contentHash);
  });

  test(`the PDF names ${OMEGA} (embedded Unicode font), the seller, tax, totals in the tenant's locale`, async () => {
    omegaPdf = await getPdf('/v1/tenants/omega/invoices/2025-11?format=pdf');
    const text = await pdfToText(omegaPdf);
    const i = await invoiceJson('omega', '2025-11');
    assert.match(text, new RegExp(OMEGA));
    assert.match(text, /Тверская 1/);
    assert.match(text, /Test Cloud GmbH/);
    assert.match(text, /Hauptstraße 1/);
    assert.match(text, /Tax ID: DE123456789/);
    assert.match(text, new RegExp(i.number ?? 'x'));
    assert.match(text, /Tax 19 %\s+19,00 €/);
    assert.match(text, /Total due\s+119,00 €/);
    assert.match(text, /IBAN DE89 3704 0044 0532 0130 00/);
    assert.match(text, /Due date\s+\d{1,2}\. \S+ \d{4}/);
    assert.ok(omegaPdf.length < 200_000, `${omegaPdf.length} bytes: the font must be subset`);
    const { stdout } = await run(
      'pdffonts',
      [join(mkdtempSync(join(tmpdir(), 'f-')), 'x.pdf')].map(
        (f) => (writeFileSync(f, omegaPdf), f),
      ),
    );
    assert.match(stdout, /[A-Z]{6}\+WenQuanYiMicroHei\s+CID TrueType\s+Identity-H\s+yes yes/);
  });

  test('reverse charge: zero tax and the wording on JSON and PDF', async () => {
    const i = await invoiceJson('rc', '2025-11');
    assert.deepEqual([i.net, i.tax, i.gross], ['10.00', '0.00', '10.00']);
    assert.deepEqual(i.notes, [REVERSE_CHARGE_NOTE]);
    const text = await pdfToText(await getPdf('/v1/tenants/rc/invoices/2025-11?format=pdf'));
    assert.match(text, /Reverse charge: VAT to be accounted for by the recipient/);
    assert.match(text, /Tax ID: ATU12345678/);
  });

  test('a final PDF downloaded twice is byte-identical, also after late usage and new billing details; adjustments still work', async () => {
    const first = await getPdf('/v1/tenants/omega/invoices/2025-11?format=pdf');
    assert.ok(first.equals(omegaPdf));
    const stored = await h.db.query<{ sha256: string }[]>(
      `SELECT sha256 FROM document_pdf WHERE number = $1`,
      [(await invoiceJson('omega', '2025-11')).number],
    );
    assert.equal(stored[0]?.sha256, sha256(first));
    // Late usage for the closed month, and the tenant changes its details.
    await h.bucket('omega', 'c1', '2025-11-20T00:00:00Z', '5');
    await h.call('PATCH', '/v1/tenants/omega', {
      body: { legalName: 'Renamed Ltd', taxRate: '7' },
    });
    const second = await getPdf('/v1/tenants/omega/invoices/2025-11?format=pdf');
    assert.equal(sha256(second), sha256(first));
    assert.ok(second.equals(first));
    // The late usage is an adjustment on the next month's draft, taxed at today's rate.
    const dec = await invoiceJson('omega', '2025-12');
    const adj = dec.lines.find((l) => l.meter === 'adjustment');
    assert.equal(adj?.amount, '5.00');
    assert.equal(dec.tax, '0.35');
    assert.equal(dec.buyer?.legalName, 'Renamed Ltd');
    // The final invoice keeps what it was issued with.
    assert.equal((await invoiceJson('omega', '2025-11')).buyer?.legalName, OMEGA);
    // Drafts render live: the December PDF shows the new name.
    assert.match(
      await pdfToText(await getPdf('/v1/tenants/omega/invoices/2025-12?format=pdf')),
      /Renamed Ltd/,
    );
  });

  test('a tenant key downloads its own final PDF, the same bytes', async () => {
    const key = await h.key('omega');
    const mine = await getPdf('/v1/tenants/omega/invoices/2025-11?format=pdf', key.key);
    assert.ok(mine.equals(omegaPdf));
  });

  test('a tampered stored PDF or invoice is never served: 500 DOCUMENT_INTEGRITY, logged and counted', async () => {
    const number = (await invoiceJson('plain', '2025-11')).number ?? '';
    const good = await getPdf('/v1/tenants/plain/invoices/2025-11?format=pdf');
    // Only the owner can disable the trigger (the services' role cannot: ledger-app-role spec).
    await h.db.query(`ALTER TABLE document_pdf DISABLE TRIGGER document_pdf_immutable`);
    await h.db.query(`UPDATE document_pdf SET pdf = $2 WHERE number = $1`, [
      number,
      Buffer.concat([good, Buffer.from('\n% tampered')]),
    ]);
    await h.db.query(`ALTER TABLE document_pdf ENABLE TRIGGER document_pdf_immutable`);
    const r = await h.call('GET', '/v1/tenants/plain/invoices/2025-11?format=pdf');
    assert.equal(r.status, 500);
    assert.equal(r.headers.get('content-type')?.startsWith('application/problem+json'), true);
    assert.equal((r.json as { code: string }).code, 'DOCUMENT_INTEGRITY');
    assert.ok(!r.text.includes('%PDF'));
    await h.db.query(`ALTER TABLE invoice DISABLE TRIGGER invoice_immutable`);
    await h.db.query(
      `UPDATE invoice SET content = jsonb_set(content, '{total}', '"0.01"') WHERE number = $1`,
      [number],
    );
    await h.db.query(`ALTER TABLE invoice ENABLE TRIGGER invoice_immutable`);
    const json = await h.call('GET', '/v1/tenants/plain/invoices/2025-11');
    assert.equal(json.status, 500);
    assert.equal((json.json as { code: string }).code, 'DOCUMENT_INTEGRITY');
    const metrics = await h.call('GET', '/metrics', { key: null });
    assert.match(metrics.text, /billing_api_document_integrity_failures_total\{[^}]*\} 2/);
  });

  test('the database refuses UPDATE, DELETE and TRUNCATE of final documents', async () => {
    for (const sql of [
      `UPDATE invoice SET total = 0`,
      `DELETE FROM invoice`,
      `TRUNCATE invoice CASCADE`,
      `UPDATE document_pdf SET sha256 = repeat('0', 64)`,
      `DELETE FROM document_pdf`,
      `TRUNCATE document_pdf`,
    ]) {
      await assert.rejects(h.db.query(sql), /immutable/, sql);
    }
  });
});

describe('credit notes', () => {
  let number = '';
  const post = (body: unknown, id = number, key?: string) =>
    h.call(
      'POST',
      `/v1/invoices/${encodeURIComponent(id)}/credit-notes`,
      key === undefined ? { body } : { body, key },
    );

  before(async () => {
    const i = await invoiceJson('credit', '2025-11');
    assert.equal(i.status, 'final');
    assert.deepEqual([i.net, i.tax, i.gross], ['50.00', '10.00', '60.00']);
    number = i.number ?? '';
  });

  test('a partial credit note: numbered CN-YYYY-000001, final, taxed at the invoice rate, PDF stored, listed on the invoice', async () => {
    const r = await post({
      reason: 'Outage on 3 November',
      lines: [{ lineIndex: 0, amount: '10.00' }],
    });
    assert.equal(r.status, 201, r.text);
    const note = r.json as {
      number: string;
      net: string;
      tax: string;
      gross: string;
      invoiceNumber: string;
      contentHash: string;
    };
    const year = new Date().getUTCFullYear();
    assert.equal(note.number, `CN-${year}-000001`);
    assert.deepEqual(
      [note.invoiceNumber, note.net, note.tax, note.gross],
      [number, '10.00', '2.00', '12.00'],
    );
    const pdf = await getPdf(`/v1/tenants/credit/credit-notes/${note.number}?format=pdf`);
    const text = await pdfToText(pdf);
    assert.match(text, /CREDIT NOTE/);
    assert.match(text, new RegExp(note.number));
    assert.match(text, new RegExp(`Corrects invoice\\s+${number}`));
    assert.match(text, /Outage on 3 November/);
    assert.match(text, /Total credited\s+€12\.00/);
    assert.ok(
      (await getPdf(`/v1/tenants/credit/credit-notes/${note.number}?format=pdf`)).equals(pdf),
    );
    const stored = await h.db.query<{ sha256: string }[]>(
      `SELECT sha256 FROM document_pdf WHERE number = $1`,
      [note.number],
    );
    assert.equal(stored[0]?.sha256, sha256(pdf));
    // credit_note.issued went into the outbox in the transaction that issued the note.
    const events = await h.db.query<{ payload: string }[]>(
      `SELECT payload FROM event_outbox WHERE event_type = 'credit_note.issued' AND tenant_id = 'credit'`,
    );
    const issued = events
      .map((e) => decodeInvoiceEvent(Buffer.from(e.payload)))
      .filter((d) => d.ok && d.value.type === 'credit_note.issued')
      .map((d) =>
        d.ok ? (d.value.data as { creditNote: { number: string; total: string } }) : null,
      );
    assert.ok(
      issued.some((d) => d?.creditNote.number === note.number && d.creditNote.total === note.gross),
      JSON.stringify(issued),
    );
    const json = await h.call('GET', `/v1/tenants/credit/credit-notes/${note.number}`);
    assert.equal((json.json as { contentHash: string }).contentHash, note.contentHash);
    const invoice = await invoiceJson('credit', '2025-11');
    assert.deepEqual(
      invoice.creditNotes?.map((c) => [c.number, c.gross]),
      [[note.number, '12.00']],
    );
    // Listed, not hashed: the invoice's content hash still verifies.
    assert.equal(invoiceContentHash(invoice), invoice.contentHash);
  });

  test('more than a line or the invoice has left: 409 CREDIT_EXCEEDS_REMAINING naming the field', async () => {
    const over = await post({ reason: 'x', lines: [{ lineIndex: 0, amount: '40.01' }] });
    assert.equal(over.status, 409, over.text);
    assert.deepEqual(
      [(over.json as { code: string }).code, (over.json as { field: string }).field],
      ['CREDIT_EXCEEDS_REMAINING', 'lines[0].amount'],
    );
  });

  test('the full remainder, then nothing left (409 NOTHING_TO_CREDIT); numbers follow without gaps', async () => {
    const full = await post({ reason: 'Contract cancelled' });
    assert.equal(full.status, 201, full.text);
    const note = full.json as { number: string; net: string; tax: string; gross: string };
    assert.deepEqual([note.net, note.tax, note.gross], ['40.00', '8.00', '48.00']);
    assert.match(note.number, /^CN-\d{4}-000002$/);
    const again = await post({ reason: 'again' });
    assert.equal(again.status, 409);
    assert.equal((again.json as { code: string }).code, 'NOTHING_TO_CREDIT');
    const invoice = await invoiceJson('credit', '2025-11');
    assert.equal(invoice.creditNotes?.length, 2);
    const counter = await h.db.query<{ last_sequence: number }[]>(
      `SELECT last_sequence FROM credit_note_counter`,
    );
    assert.equal(counter[0]?.last_sequence, 2, 'refused notes take no number');
    await assert.rejects(h.db.query(`UPDATE credit_note SET reason = 'x'`), /immutable|column/);
    await assert.rejects(h.db.query(`DELETE FROM credit_note`), /immutable/);
  });

  const bad: [string, unknown, string][] = [
    ['no reason', {}, 'reason'],
    ['a reason with NUL', { reason: 'a\u0000b' }, 'reason'],
    ['a huge reason', { reason: 'x'.repeat(501) }, 'reason'],
    ['a reason of the wrong type', { reason: 5 }, 'reason'],
    ['lines not an array', { reason: 'r', lines: {} }, 'lines'],
    ['no lines', { reason: 'r', lines: [] }, 'lines'],
    [
      'a line index out of range',
      { reason: 'r', lines: [{ lineIndex: 99, amount: '1.00' }] },
      'lines[0].lineIndex',
    ],
    [
      'a negative line index',
      { reason: 'r', lines: [{ lineIndex: -1, amount: '1.00' }] },
      'lines[0].lineIndex',
    ],
    [
      'a line index as a string',
      { reason: 'r', lines: [{ lineIndex: '0', amount: '1.00' }] },
      'lines[0].lineIndex',
    ],
    [
      'a negative amount',
      { reason: 'r', lines: [{ lineIndex: 0, amount: '-1.00' }] },
      'lines[0].amount',
    ],
    [
      'a zero amount',
      { reason: 'r', lines: [{ lineIndex: 0, amount: '0.00' }] },
      'lines[0].amount',
    ],
    [
      'an amount as a number',
      { reason: 'r', lines: [{ lineIndex: 0, amount: 1 }] },
      'lines[0].amount',
    ],
    [
      'a non-finite amount',
      { reason: 'r', lines: [{ lineIndex: 0, amount: 'Infinity' }] },
      'lines[0].amount',
    ],
    [
      'sub-cent amounts',
      { reason: 'r', lines: [{ lineIndex: 0, amount: '0.001' }] },
      'lines[0].amount',
    ],
    [
      'a line twice',
      {
        reason: 'r',
        lines: [
          { lineIndex: 0, amount: '0.01' },
          { lineIndex: 0, amount: '0.01' },
        ],
      },
      'lines[1].lineIndex',
    ],
    ['an unknown field', { reason: 'r', amount: '1' }, 'amount'],
  ];
  for (const [what, body, field] of bad) {
    test(`400 naming ${field}: ${what}`, async () => {
      // The 'plain' invoice still has everything to credit; a valid body would be accepted.
      const target = (await invoiceJson('rc', '2025-11')).number ?? '';
      const r = await post(body, target);
      assert.equal(r.status, 400, r.text);
      const json = r.json as { field: string; errors?: { field: string }[] };
      assert.ok(json.field === field || (json.errors ?? []).some((e) => e.field === field), r.text);
    });
  }

  test('unknown or malformed invoice ids, tenant keys, unknown credit notes', async () => {
    assert.equal((await post({ reason: 'r' }, 'INV-2099-01-000001')).status, 404);
    const malformed = await post({ reason: 'r' }, 'not-an-invoice');
    assert.equal(malformed.status, 400);
    assert.equal((malformed.json as { field: string }).field, 'id');
    const key = await h.key('credit');
    assert.equal((await post({ reason: 'r' }, number, key.key)).status, 403);
    assert.equal(
      (await h.call('GET', '/v1/tenants/credit/credit-notes/CN-2099-000001')).status,
      404,
    );
    assert.equal((await h.call('GET', '/v1/tenants/credit/credit-notes/%00')).status, 400);
    // Another tenant's credit note is a 404 for that tenant's key.
    const other = await h.key('rc');
    const year = new Date().getUTCFullYear();
    assert.equal(
      (await h.call('GET', `/v1/tenants/credit/credit-notes/CN-${year}-000001`, { key: other.key }))
        .status,
      404,
    );
    assert.equal(
      (await h.call('GET', `/v1/tenants/rc/credit-notes/CN-${year}-000001`, { key: other.key }))
        .status,
      404,
    );
  });
});
