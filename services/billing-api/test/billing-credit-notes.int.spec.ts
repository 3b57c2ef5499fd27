import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { invoiceContentHash } from '../src/invoices/domain';
import { decodeInvoiceEvent } from '@metering/contracts';
import { BillingHarness } from './billing-harness';
import {
  closeNovemberWithDetails,
  documentsOf,
  pdfToText,
  sha256,
  startWithSeller,
} from './legal-invoices-harness';

/**
 * Credit notes against a real billing-api and PostgreSQL, on November's final invoices: numbers
 * without gaps, tax at the invoice's rate, stored PDFs, limits, validation and tenant scoping.
 */
const h = new BillingHarness();
const { getPdf, invoiceJson } = documentsOf(h);

before(async () => {
  await startWithSeller(h);
  await closeNovemberWithDetails(h);
});
after(() => h.stop());

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
