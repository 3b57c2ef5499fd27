import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { Decimal } from '@metering/money';
import { localInfra } from '@metering/testing';
import { invoiceContentHash, type InvoiceDocument } from '../src/invoices/domain';
import { BillingHarness, type InvoiceJson } from './billing-harness';
import { invoiceReader, lines, startWithInvoiceFixtures } from './invoices-harness';

/**
 * Closing a period on a real billing-api and PostgreSQL: final invoices numbered gap-free and
 * hashed, idempotent and immutable closes, late usage adjusted once, PDF, CSV and export, the
 * CLI, concurrent closes, and months closed out of order.
 */
const run = promisify(execFile);
const h = new BillingHarness();
const CLI = join(__dirname, '../src/cli/billing.cli.js');
const invoice = invoiceReader(h);

type CsvRow = Record<string, string>;
const parseCsv = (text: string): CsvRow[] => parse(text, { columns: true, skip_empty_lines: true });
const LINE_TYPES = new Set(['cpu', 'memory', 'minimum', 'adjustment']);

/** Per tenant: Σ of the line rows' amounts and the total row's amount, as decimals. */
function csvTotals(
  rows: readonly CsvRow[],
): Map<string, { lines: Decimal; total: string; number: string }> {
  const out = new Map<string, { lines: Decimal; total: string; number: string }>();
  for (const row of rows) {
    const id = row.tenant_id ?? '';
    const entry = out.get(id) ?? { lines: new Decimal(0), total: '', number: row.number ?? '' };
    if (LINE_TYPES.has(row.row_type ?? '')) entry.lines = entry.lines.plus(row.amount ?? '0');
    if (row.row_type === 'total') entry.total = row.amount ?? '';
    out.set(id, entry);
  }
  return out;
}

async function pdfText(tenant: string, period: string): Promise<string> {
  const r = await h.call('GET', `/v1/tenants/${tenant}/invoices/${period}?format=pdf`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/pdf');
  assert.equal(r.buffer.subarray(0, 5).toString(), '%PDF-');
  const dir = mkdtempSync(join(tmpdir(), 'billing-pdf-'));
  const file = join(dir, 'invoice.pdf');
  writeFileSync(file, r.buffer);
  const { stdout } = await run('pdftotext', ['-layout', file, '-']);
  return stdout;
}

before(() => startWithInvoiceFixtures(h));
after(() => h.stop());

describe('closing a period', () => {
  const numbers = new Map<string, { number: string; hash: string }>();

  test('close 2025-10: every tenant final, numbered gap-free in tenant-id order, hashed', async () => {
    const r = await h.call('POST', '/v1/periods/2025-10/close');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      { ...(r.json as object), closableFrom: undefined },
      {
        period: '2025-10',
        tenants: 7,
        finalized: 7,
        alreadyFinal: 0,
        closableFrom: undefined,
      },
    );
    const ids = ['changer', 'flat', 'kolkata', 'late', 'minimum', 'ny', 'tiered'];
    for (const [index, id] of ids.entries()) {
      const i = await invoice(id, '2025-10');
      assert.equal(i.status, 'final');
      assert.equal(i.number, `INV-2025-10-${String(index + 1).padStart(6, '0')}`);
      assert.match(i.contentHash ?? '', /^[0-9a-f]{64}$/);
      assert.equal(
        invoiceContentHash(i as unknown as InvoiceDocument),
        i.contentHash,
        'hash of the canonical JSON',
      );
      numbers.set(id, { number: i.number ?? '', hash: i.contentHash ?? '' });
    }
    assert.equal((await invoice('late', '2025-10')).total, '5.00');
    assert.equal((await invoice('ny', '2025-10')).total, '1.00');
  });

  test('closing twice is harmless: same numbers, same hashes, no number used', async () => {
    const r = await h.call('POST', '/v1/periods/2025-10/close');
    assert.equal((r.json as { finalized: number; alreadyFinal: number }).finalized, 0);
    assert.equal((r.json as { alreadyFinal: number }).alreadyFinal, 7);
    for (const [id, seen] of numbers) {
      const i = await invoice(id, '2025-10');
      assert.deepEqual({ number: i.number, hash: i.contentHash }, seen);
    }
    const counter = await h.db.query<{ last_sequence: number }[]>(
      `SELECT last_sequence FROM invoice_counter WHERE period = '2025-10'`,
    );
    assert.equal(counter[0]?.last_sequence, 7);
  });

  test('final invoices are immutable, even for SQL', async () => {
    await assert.rejects(
      h.db.query(`UPDATE invoice SET total = 0 WHERE tenant_id = 'late' AND period = '2025-10'`),
      /immutable/,
    );
    await assert.rejects(h.db.query(`DELETE FROM invoice WHERE period = '2025-10'`), /immutable/);
  });

  test('a plan change inside a closed month is refused', async () => {
    const r = await h.call('PUT', '/v1/tenants/late/plan', {
      body: { planId: 'half', effectiveFrom: '2025-10-15T00:00:00Z' },
    });
    assert.equal(r.status, 409);
    assert.equal((r.json as { code: string }).code, 'PERIOD_CLOSED');
  });

  test('late usage for a closed month: the final invoice stays, the next one adjusts, once', async () => {
    await h.bucket('late', 'l1', '2025-10-10T00:00:00Z', '3'); // 3 h more, after the close
    const oct = await invoice('late', '2025-10');
    assert.equal(oct.total, '5.00');
    assert.equal(oct.contentHash, numbers.get('late')?.hash);
    const nov = await invoice('late', '2025-11');
    assert.deepEqual(lines(nov), [
      ['cpu', '1.00'],
      ['adjustment', '1.50'],
    ]);
    assert.equal(nov.lines[1]?.adjustsPeriod, '2025-10');
    assert.equal(nov.total, '2.50');
    // The months that saw no late usage get no adjustment.
    assert.deepEqual(lines(await invoice('ny', '2025-11')), [['cpu', '6.00']]);

    const closed = await h.call('POST', '/v1/periods/2025-11/close');
    assert.equal((closed.json as { finalized: number }).finalized, 7);
    const finalNov = await invoice('late', '2025-11');
    assert.equal(finalNov.number, 'INV-2025-11-000004');
    assert.equal(finalNov.total, '2.50');
    assert.deepEqual(
      lines(await invoice('late', '2025-12')),
      [['cpu', '0.00']],
      'already billed: no second adjustment',
    );

    await h.bucket('late', 'l1', '2025-10-20T00:00:00Z', '1'); // and once more
    const dec = await invoice('late', '2025-12');
    assert.deepEqual(lines(dec), [
      ['cpu', '0.00'],
      ['adjustment', '0.50'],
    ]);
    assert.equal(dec.total, '0.50');
  });

  test('PDF: number, provider, lines and total are in the extracted text', async () => {
    const text = await pdfText('late', '2025-11');
    assert.match(text, /Test Cloud GmbH/);
    assert.match(text, /INVOICE/);
    assert.match(text, /INV-2025-11-000004/);
    assert.match(text, /Bill to[\s\S]*LATE[\s\S]*Customer: late/);
    assert.match(text, /CPU \(usage\), plan half v1.*€1\.00/);
    assert.match(text, /Adjustment for 2025-10.*€1\.50/s);
    assert.match(text, /Total due\s+€2\.50/);
    assert.match(text, /Daily usage/);
    assert.match(text, /Usage by resource[\s\S]*l1/);
    assert.match(
      text,
      new RegExp(`Content SHA-256: ${(await invoice('late', '2025-11')).contentHash ?? 'x'}`),
    );

    const draft = await pdfText('changer', '2025-12');
    assert.match(draft, /DRAFT INVOICE/);
    const tiered = await pdfText('tiered', '2025-11');
    assert.match(tiered, /tier 2 \(up to 300\): 200 × 0\.035/);
    assert.match(tiered, /Total due\s+€14\.00/);
  });

  test('CSV of one invoice parses back; its line amounts add up to its total', async () => {
    const r = await h.call('GET', '/v1/tenants/changer/invoices/2025-11?format=csv');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/csv/);
    const rows = parseCsv(r.text);
    const totals = csvTotals(rows).get('changer');
    assert.equal(totals?.total, '15.00');
    assert.ok(totals?.lines.eq('15.00'));
    assert.equal(totals?.number, 'INV-2025-11-000001');
    assert.deepEqual(
      rows.filter((x) => LINE_TYPES.has(x.row_type ?? '')).map((x) => [x.row_type, x.amount]),
      [
        ['cpu', '4.00'],
        ['cpu', '2.00'],
        ['minimum', '9.00'],
      ],
    );
  });

  test('export streams every tenant: CSV totals and JSON Lines match the invoices', async () => {
    const csv = await h.call('GET', '/v1/invoices/export?period=2025-11&format=csv');
    assert.equal(csv.status, 200);
    const byTenant = csvTotals(parseCsv(csv.text));
    assert.equal(byTenant.size, 7);
    const jsonl = await h.call('GET', '/v1/invoices/export?period=2025-11&format=jsonl');
    assert.match(jsonl.headers.get('content-type') ?? '', /ndjson/);
    const docs = jsonl.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as InvoiceJson);
    assert.equal(docs.length, 7);
    for (const doc of docs) {
      const fromCsv = byTenant.get(doc.tenantId);
      assert.equal(fromCsv?.total, doc.total, doc.tenantId);
      assert.ok(fromCsv?.lines.eq(doc.total), `${doc.tenantId}: lines add up`);
      assert.equal(fromCsv?.number, doc.number);
      assert.equal(doc.status, 'final');
      assert.equal(invoiceContentHash(doc as unknown as InvoiceDocument), doc.contentHash);
      assert.deepEqual(doc, await invoice(doc.tenantId, '2025-11'));
    }
    // Net, tax rate(s), tax and gross: the JSON's strings on every CSV row of the invoice, and a
    // tax row per rate and a gross row that add up (total + tax = gross).
    const rows = parseCsv(csv.text);
    for (const doc of docs as unknown as InvoiceDocument[]) {
      const mine = rows.filter((r) => r.tenant_id === doc.tenantId);
      const rates = (doc.taxLines ?? []).map((t) => t.ratePercent).join(';');
      for (const r of mine) {
        assert.deepEqual(
          [r.net, r.tax_rate, r.tax_amount, r.gross],
          [doc.net, rates, doc.tax, doc.gross],
          doc.tenantId,
        );
      }
      const taxRows = mine.filter((r) => r.row_type === 'tax');
      assert.deepEqual(
        taxRows.map((r) => [r.unit_price, r.quantity, r.amount]),
        (doc.taxLines ?? []).map((t) => [t.ratePercent, t.base, t.amount]),
      );
      const gross = taxRows.reduce((sum, r) => sum.plus(r.amount ?? '0'), new Decimal(doc.total));
      assert.ok(gross.eq(mine.find((r) => r.row_type === 'gross')?.amount ?? 'NaN'), doc.tenantId);
    }
    const ny = rows.find((r) => r.tenant_id === 'ny' && r.row_type === 'tax');
    // 6.00 × 19.125 % = 1.1475 → 1.15, rounded once as on the PDF.
    assert.deepEqual([ny?.unit_price, ny?.amount, ny?.gross], ['19.125', '1.15', '7.15']);
    // A month still open exports live drafts.
    const drafts = await h.call('GET', '/v1/invoices/export?period=2025-12&format=jsonl');
    assert.ok(
      drafts.text
        .trim()
        .split('\n')
        .every((l) => (JSON.parse(l) as InvoiceJson).status === 'draft'),
    );
  });

  test('the CLI closes and exports with the same results as the API', async () => {
    const env = {
      ...process.env,
      DATABASE_URL: localInfra.postgresUrl,
      DATABASE_SCHEMA: h.schema,
      CLOSE_GRACE_MS: '0',
      MIGRATE_ON_START: 'false',
    };
    const closed = await run(process.execPath, [CLI, 'close', '2025-12', '--json'], { env });
    assert.equal((JSON.parse(closed.stdout) as { finalized: number }).finalized, 7);
    const out = join(mkdtempSync(join(tmpdir(), 'billing-cli-')), 'export.csv');
    const exported = await run(
      process.execPath,
      [CLI, 'export', '2025-12', '--format', 'csv', '--out', out],
      { env },
    );
    assert.match(exported.stderr, /wrote 7 invoices/);
    const api = await h.call('GET', '/v1/invoices/export?period=2025-12&format=csv');
    assert.equal(readFileSync(out, 'utf8'), api.text);
    await assert.rejects(
      run(process.execPath, [CLI, 'close', '2199-01'], { env }),
      /PERIOD_NOT_CLOSABLE/,
    );
    await assert.rejects(run(process.execPath, [CLI, 'export', '2025-13'], { env }), /YYYY-MM/);
  });

  test('concurrent closes of one period still number every invoice once, without gaps', async () => {
    const answers = await Promise.all(
      [1, 2, 3].map(() => h.call('POST', '/v1/periods/2025-09/close')),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200],
    );
    const finalized = answers.reduce((n, a) => n + (a.json as { finalized: number }).finalized, 0);
    assert.equal(finalized, 7);
    const rows = await h.db.query<{ number: string }[]>(
      `SELECT number FROM invoice WHERE period = '2025-09' ORDER BY tenant_id`,
    );
    assert.deepEqual(
      rows.map((r) => r.number),
      [1, 2, 3, 4, 5, 6, 7].map((n) => `INV-2025-09-00000${n}`),
    );
  });

  test('/metrics counts the invoices closed', async () => {
    const metrics = await h.call('GET', '/metrics', { key: null });
    assert.match(metrics.text, /billing_api_invoices_closed_total\{[^}]*\} 21/);
    assert.match(metrics.text, /billing_api_period_close_duration_seconds_count\{[^}]*\} 6/);
  });
});

describe('months closed out of order', () => {
  test('an adjustment settled on a later final is not billed again by a month closed in between', async () => {
    await h.bucket('late', 'l1', '2025-05-10T00:00:00Z', '2'); // May: 2 h × 0.50 = 1.00
    assert.equal((await h.call('POST', '/v1/periods/2025-05/close')).status, 200);
    assert.equal((await invoice('late', '2025-05')).total, '1.00');
    await h.bucket('late', 'l1', '2025-05-11T00:00:00Z', '4'); // late: 2.00 more
    // July is closed before June: July carries the May adjustment.
    assert.equal((await h.call('POST', '/v1/periods/2025-07/close')).status, 200);
    const july = await invoice('late', '2025-07');
    assert.deepEqual(
      july.lines.filter((l) => l.meter === 'adjustment').map((l) => [l.adjustsPeriod, l.amount]),
      [['2025-05', '2.00']],
    );
    // June, still open, must not bill May's late usage a second time.
    const june = await invoice('late', '2025-06');
    assert.deepEqual(
      june.lines.filter((l) => l.meter === 'adjustment'),
      [],
    );
    assert.equal((await h.call('POST', '/v1/periods/2025-06/close')).status, 200);
    assert.equal((await invoice('late', '2025-06')).total, '0.00');
  });
});
