import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Money, minorUnitsOf, sumMoney } from '@metering/money';
import { finalizeInvoice } from './canonical-json';
import {
  buildCreditNote,
  type CreditNoteDocument,
  CreditNoteError,
  creditNoteContentHash,
  finalizeCreditNote,
  remainingByLine,
} from './credit-note-calculator';
import { type InvoiceDocument, type InvoiceLine } from './invoice.model';
import { dueDateOf, totalsOf, withBilling } from './tax-calculator';

/** Rates "0"…"100" with up to 4 decimals; amounts in cents, ±10^13. */
const rate = fc
  .tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 9_999 }))
  .filter(([w, f]) => w < 100 || f === 0)
  .map(([w, f]) => (f === 0 ? String(w) : `${w}.${String(f).padStart(4, '0')}`));
const cents = fc.bigInt({ min: -(10n ** 13n), max: 10n ** 13n });
const toAmount = (c: bigint): string => {
  const sign = c < 0n ? '-' : '';
  const a = c < 0n ? -c : c;
  return `${sign}${a / 100n}.${String(a % 100n).padStart(2, '0')}`;
};

/** Oracle in integers: round(c × r / 100) half away from zero, with r scaled by 10^4. */
function oracleTaxCents(c: bigint, ratePercent: string): bigint {
  const [w, f = ''] = ratePercent.split('.');
  const r = BigInt(w ?? '0') * 10_000n + BigInt(f.padEnd(4, '0') || '0');
  const num = c * r; // tax = num / (100 × 10^4)
  const den = 1_000_000n;
  const abs = num < 0n ? -num : num;
  const q = (abs * 2n + den) / (2n * den);
  return num < 0n ? -q : q;
}

describe('tax (fast-check)', () => {
  test('tax = the integer oracle’s half-up rounding; gross = net + tax exactly; minor-unit digits', () => {
    fc.assert(
      fc.property(cents, rate, (c, r) => {
        const t = totalsOf(Money.parse(toAmount(c), 'EUR'), {
          ratePercent: r,
          exemptionReason: null,
        });
        const expected = oracleTaxCents(c, r);
        assert.equal(t.tax, toAmount(expected) === '-0.00' ? '0.00' : toAmount(expected));
        assert.equal(Money.parse(t.net, 'EUR').add(Money.parse(t.tax, 'EUR')).toFixed(), t.gross);
        for (const v of [t.net, t.tax, t.gross]) assert.match(v, /^-?\d+\.\d{2}$/);
      }),
      { numRuns: 2_000 },
    );
  });

  test('the tax of −x is −(the tax of x)', () => {
    fc.assert(
      fc.property(cents, rate, (c, r) => {
        const plus = totalsOf(Money.parse(toAmount(c), 'EUR'), {
          ratePercent: r,
          exemptionReason: null,
        });
        const minus = totalsOf(Money.parse(toAmount(-c), 'EUR'), {
          ratePercent: r,
          exemptionReason: null,
        });
        assert.ok(Money.parse(plus.tax, 'EUR').add(Money.parse(minus.tax, 'EUR')).isZero());
      }),
    );
  });
});

describe('due date (fast-check)', () => {
  test('due − issue day = the payment terms, in whole calendar days, in any zone', () => {
    const zones = [
      'UTC',
      'Europe/Berlin',
      'America/New_York',
      'Asia/Kolkata',
      'Pacific/Kiritimati',
      'Pacific/Pago_Pago',
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('1971-01-01'), max: Date.parse('2199-01-01') }),
        fc.constantFrom(...zones),
        fc.integer({ min: 0, max: 365 }),
        (ms, zone, days) => {
          const issueDay = new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(ms);
          const due = dueDateOf(ms, zone, days);
          assert.match(due, /^\d{4}-\d{2}-\d{2}$/);
          assert.equal(
            (Date.parse(`${due}T00:00:00Z`) - Date.parse(`${issueDay}T00:00:00Z`)) / 86_400_000,
            days,
          );
        },
      ),
    );
  });
});

/** A final invoice from arbitrary rounded line amounts (some negative: adjustments). */
function finalInvoice(
  amounts: readonly bigint[],
  ratePercent: string | null,
  currency = 'EUR',
): InvoiceDocument {
  const digits = minorUnitsOf(currency);
  const fmt = (c: bigint) => Money.fromMinorUnits(c, currency).toFixed();
  const lines: InvoiceLine[] = amounts.map((a, i) => ({
    meter: a < 0n ? 'adjustment' : 'cpu',
    description: `line ${i}`,
    quantity: '1',
    unit: a < 0n ? 'adjustment' : 'vCPU-hour',
    unitPrice: fmt(a),
    amount: fmt(a),
  }));
  const total = sumMoney(
    lines.map((l) => Money.parse(l.amount, currency)),
    currency,
  );
  void digits;
  const draft: InvoiceDocument = {
    tenantId: 'acme',
    tenantName: 'Ωμέγα 株式会社',
    period: '2026-11',
    timeZone: 'UTC',
    periodStart: '2026-11-01T00:00:00.000Z',
    periodEnd: '2026-12-01T00:00:00.000Z',
    status: 'draft',
    number: null,
    currency,
    lines,
    resources: [],
    subtotal: total.toFixed(),
    minimum: { committed: fmt(0n), prorated: fmt(0n) },
    total: total.toFixed(),
    completeness: { observedMs: '0', gapMs: '0', ratio: null },
    usageTotals: {
      cpuUsageCoreSeconds: '0',
      cpuAllocationCoreSeconds: '0',
      cpuMaxCoreSeconds: '0',
      memoryUsageByteSeconds: '0',
      memoryAllocationByteSeconds: '0',
      memoryMaxByteSeconds: '0',
      observedMs: '0',
      gapMs: '0',
    },
    issuedAt: null,
    contentHash: null,
  };
  const billed = withBilling(draft, {
    seller: {
      legalName: 'S',
      address: [],
      taxId: 'T',
      email: null,
      bank: { name: null, iban: 'I', bic: null },
      sample: false,
    },
    buyer: { legalName: 'B', address: [], taxId: null, email: null },
    tax: { ratePercent, exemptionReason: null },
    paymentTermsDays: 30,
    locale: 'en',
  });
  return finalizeInvoice(billed, 'INV-2026-11-000001', Date.parse('2026-12-03T00:00:00Z'));
}

describe('credit notes (fast-check)', () => {
  const lineAmounts = fc.array(fc.bigInt({ min: -5_000n, max: 50_000n }), {
    minLength: 1,
    maxLength: 6,
  });
  /** Requested credits per note: (line, cents) pairs; some exceed what is left. */
  const requests = fc.array(
    fc.array(fc.tuple(fc.nat({ max: 5 }), fc.bigInt({ min: 1n, max: 60_000n })), {
      minLength: 1,
      maxLength: 4,
    }),
    { minLength: 1, maxLength: 8 },
  );
  const eur = (c: bigint) => Money.fromMinorUnits(c, 'EUR');

  test('never more than what remains (per line and in total); a refused note changes nothing; a full credit credits exactly the net and the tax', () => {
    fc.assert(
      fc.property(
        lineAmounts,
        fc.option(rate, { nil: null }),
        requests,
        fc.boolean(),
        (amounts, r, reqs, finishFull) => {
          const invoice = finalInvoice(amounts, r);
          const notes: CreditNoteDocument[] = [];
          for (const req of reqs) {
            const unique = [...new Map(req.map(([i, c]) => [i % amounts.length, c])).entries()];
            const before = remainingByLine(invoice, notes);
            const asked = sumMoney(
              unique.map(([, c]) => eur(c)),
              'EUR',
            );
            const exceeds =
              unique.some(([i, c]) => eur(c).greaterThan(before[i] ?? Money.zero('EUR'))) ||
              asked.greaterThan(sumMoney(before, 'EUR'));
            try {
              const draft = buildCreditNote(
                invoice,
                notes,
                {
                  kind: 'lines',
                  reason: 'r',
                  lines: unique.map(([lineIndex, c]) => ({ lineIndex, amount: eur(c).toFixed() })),
                },
                Date.parse('2026-12-10T00:00:00Z'),
              );
              assert.equal(exceeds, false, 'a note over the remaining amount was accepted');
              notes.push(
                finalizeCreditNote(draft, `CN-2026-${String(notes.length + 1).padStart(6, '0')}`),
              );
            } catch (error) {
              assert.ok(error instanceof CreditNoteError, String(error));
              assert.equal(error.code, 'CREDIT_EXCEEDS_REMAINING');
              assert.equal(exceeds, true, error.message);
            }
          }
          const invoiceNet = Money.parse(invoice.net ?? '0', 'EUR');
          if (finishFull) {
            try {
              const draft = buildCreditNote(invoice, notes, { kind: 'full', reason: 'all' }, 0);
              notes.push(finalizeCreditNote(draft, 'CN-2026-999999'));
            } catch (error) {
              assert.ok(error instanceof CreditNoteError && error.code === 'NOTHING_TO_CREDIT');
            }
          }
          const remaining = remainingByLine(invoice, notes);
          amounts.forEach((a, i) => {
            // A charge line is never credited beyond its amount.
            if (a >= 0n) assert.ok(!(remaining[i] ?? eur(0n)).isNegative(), `line ${i}`);
          });
          const creditedNet = sumMoney(
            notes.map((n) => Money.parse(n.net, 'EUR')),
            'EUR',
          );
          const creditedTax = sumMoney(
            notes.map((n) => Money.parse(n.tax, 'EUR')),
            'EUR',
          );
          const invoiceTax = Money.parse(invoice.tax ?? '0', 'EUR');
          if (notes.length > 0) {
            assert.ok(
              creditedNet.lessThanOrEqual(invoiceNet),
              'credited more than the invoice net',
            );
            assert.ok(creditedTax.lessThanOrEqual(invoiceTax), 'credited more tax than charged');
          }
          if (finishFull && invoiceNet.isPositive()) {
            assert.ok(creditedNet.equals(invoiceNet), 'a full credit leaves nothing to credit');
            assert.ok(
              creditedTax.equals(invoiceTax),
              `${creditedTax.toFixed()} ≠ ${invoiceTax.toFixed()}`,
            );
          }
          for (const n of notes) {
            assert.equal(
              Money.parse(n.net, 'EUR').add(Money.parse(n.tax, 'EUR')).toFixed(),
              n.gross,
            );
            assert.equal(creditNoteContentHash(n), n.contentHash);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  test('shape errors name the field', () => {
    const invoice = finalInvoice([1000n, 2000n], '19');
    const code = (lines: { lineIndex: number; amount: string }[]) => {
      try {
        buildCreditNote(invoice, [], { kind: 'lines', reason: 'r', lines }, 0);
        return 'accepted';
      } catch (error) {
        return error instanceof CreditNoteError ? `${error.code} ${error.field}` : String(error);
      }
    };
    assert.equal(
      code([{ lineIndex: 2, amount: '1.00' }]),
      'CREDIT_LINE_INVALID lines[0].lineIndex',
    );
    assert.equal(
      code([{ lineIndex: -1, amount: '1.00' }]),
      'CREDIT_LINE_INVALID lines[0].lineIndex',
    );
    assert.equal(
      code([
        { lineIndex: 0, amount: '1.00' },
        { lineIndex: 0, amount: '1.00' },
      ]),
      'CREDIT_LINE_INVALID lines[1].lineIndex',
    );
    for (const bad of ['0', '0.00', '-1.00', '1.001', '1e3', 'NaN', 'Infinity', ' 1', '']) {
      assert.equal(
        code([{ lineIndex: 0, amount: bad }]),
        'CREDIT_LINE_INVALID lines[0].amount',
        bad,
      );
    }
    assert.equal(
      code([{ lineIndex: 1, amount: '20.01' }]),
      'CREDIT_EXCEEDS_REMAINING lines[0].amount',
    );
    assert.equal(code([{ lineIndex: 1, amount: '20.00' }]), 'accepted');
    assert.equal(code([]), 'CREDIT_LINE_INVALID lines');
  });

  test('a full credit takes negative lines along: it credits exactly what the invoice charged', () => {
    const invoice = finalInvoice([1000n, 2005n, -300n], '19');
    assert.equal(invoice.net, '27.05');
    assert.equal(invoice.tax, '5.14'); // 27.05 × 19 % = 5.1395 → 5.14
    const note = buildCreditNote(invoice, [], { kind: 'full', reason: 'cancelled' }, 0);
    assert.deepEqual(
      note.lines.map((l) => [l.lineIndex, l.amount]),
      [
        [0, '10.00'],
        [1, '20.05'],
        [2, '-3.00'],
      ],
    );
    assert.deepEqual([note.net, note.tax, note.gross], ['27.05', '5.14', '32.19']);
    // Both charge lines alone would exceed the invoice: refused naming `lines`.
    assert.throws(
      () =>
        buildCreditNote(
          invoice,
          [],
          {
            kind: 'lines',
            reason: 'r',
            lines: [
              { lineIndex: 0, amount: '10.00' },
              { lineIndex: 1, amount: '20.05' },
            ],
          },
          0,
        ),
      (e: unknown) =>
        e instanceof CreditNoteError &&
        e.code === 'CREDIT_EXCEEDS_REMAINING' &&
        e.field === 'lines',
    );
    // Nothing left after the full credit.
    assert.throws(
      () =>
        buildCreditNote(
          invoice,
          [finalizeCreditNote(note, 'CN-2026-000001')],
          { kind: 'full', reason: 'again' },
          0,
        ),
      (e: unknown) => e instanceof CreditNoteError && e.code === 'NOTHING_TO_CREDIT',
    );
  });
});
