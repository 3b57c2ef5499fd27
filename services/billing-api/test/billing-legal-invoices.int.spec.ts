import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invoiceContentHash, REVERSE_CHARGE_NOTE } from '../src/invoices/domain';
import { BillingHarness } from './billing-harness';
import {
  closeNovemberWithDetails,
  documentsOf,
  OMEGA,
  pdfToText,
  run,
  sha256,
  startWithSeller,
} from './legal-invoices-harness';

/**
 * Final invoices as legal documents against a real billing-api and PostgreSQL: seller, buyer,
 * tax, due date, a Unicode PDF (pdftotext, pdffonts) stored once and served byte-identical,
 * reverse charge, tamper detection, and the database refusing changes to final documents.
 */
const h = new BillingHarness();
const { getPdf, invoiceJson } = documentsOf(h);

before(() => startWithSeller(h));
after(() => h.stop());

describe('final invoices: seller, buyer, tax, due date, a Unicode PDF stored once', () => {
  let omegaPdf: Buffer;

  before(() => closeNovemberWithDetails(h));

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
