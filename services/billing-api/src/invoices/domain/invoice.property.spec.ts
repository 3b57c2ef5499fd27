import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Decimal, Money, sumMoney } from '@metering/money';
import { periodBounds } from '@metering/pricing';
import { adjustmentLine, ownCharge, settlementOf } from './adjustment-calculator';
import { canonicalJson, finalizeInvoice, invoiceContentHash } from './canonical-json';
import { invoiceFor, plan, usageRow } from './invoice-fixtures';
import { type InvoiceDocument } from './invoice.model';

const NOV = periodBounds('2026-11', 'UTC');
const hours = fc
  .tuple(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 999_999 }))
  .map(([i, f]) => `${i}.${String(f).padStart(6, '0')}`);
const price = fc.integer({ min: 0, max: 99_999 }).map((n) => new Decimal(n).div(10_000).toString());
const tiersArb = fc
  .tuple(
    fc.uniqueArray(fc.integer({ min: 1, max: 3_000 }), { maxLength: 3 }),
    fc.array(price, { minLength: 4, maxLength: 4 }),
  )
  .map(([bounds, prices]) => {
    const sorted = [...bounds].sort((a, b) => a - b);
    return [
      ...sorted.map((b, i) => ({ upTo: String(b), unitPrice: prices[i] ?? '0' })),
      { upTo: null, unitPrice: prices[3] ?? '0' },
    ];
  });

const sum = (invoice: InvoiceDocument) =>
  sumMoney(
    invoice.lines.map((l) => Money.parse(l.amount, invoice.currency)),
    invoice.currency,
  );

describe('invoice invariants (fast-check)', () => {
  test('total = Σ rounded lines; every amount has exactly the minor-unit digits; nothing negative', () => {
    fc.assert(
      fc.property(
        tiersArb,
        tiersArb,
        fc.array(fc.tuple(hours, hours), { minLength: 1, maxLength: 5 }),
        price,
        (cpu, memory, rows, minimum) => {
          const p = plan('p', { cpu, memory, minimum });
          const invoice = invoiceFor('2026-11', [{ effectiveFromMs: NOV.startMs, plan: p }], () =>
            rows.map(([c, m], i) => usageRow(0, `r${i}`, c, m)),
          );
          assert.ok(sum(invoice).equals(Money.parse(invoice.total, 'EUR')));
          for (const line of invoice.lines) {
            assert.match(line.amount, /^\d+\.\d{2}$/);
          }
          assert.ok(
            !Money.parse(invoice.total, 'EUR').lessThan(
              Money.parse(invoice.minimum.prorated, 'EUR'),
            ),
          );
        },
      ),
    );
  });

  test('splitting the month into two segments of the same plan changes the total by rounding only', () => {
    fc.assert(
      fc.property(tiersArb, hours, hours, fc.integer({ min: 1, max: 29 }), (cpu, h1, h2, day) => {
        const p = plan('p', { cpu });
        const whole = invoiceFor('2026-11', [{ effectiveFromMs: NOV.startMs, plan: p }], () => [
          usageRow(0, 'r', new Decimal(h1).plus(h2).toString(), '0'),
        ]);
        const split = invoiceFor(
          '2026-11',
          [
            { effectiveFromMs: NOV.startMs, plan: p },
            { effectiveFromMs: NOV.startMs + day * 86_400_000, plan: p },
          ],
          () => [usageRow(0, 'r', h1, '0'), usageRow(1, 'r', h2, '0')],
        );
        const diff = Money.parse(whole.total, 'EUR')
          .subtract(Money.parse(split.total, 'EUR'))
          .abs();
        assert.ok(
          diff.lessThanOrEqual(Money.parse('0.01', 'EUR')),
          `${whole.total} vs ${split.total}`,
        );
      }),
    );
  });

  test('late usage is billed exactly once: adjustments settle the repriced month, then stop', () => {
    fc.assert(
      fc.property(
        tiersArb,
        hours,
        fc.array(hours, { minLength: 1, maxLength: 4 }),
        price,
        (cpu, first, late, minimum) => {
          const p = plan('p', { cpu, minimum });
          const monthWith = (h: string) =>
            invoiceFor('2026-11', [{ effectiveFromMs: NOV.startMs, plan: p }], () => [
              usageRow(0, 'r', h, '0'),
            ]);
          const closed = finalizeInvoice(monthWith(first), 'INV-2026-11-000001', NOV.endMs);
          const laterFinals: InvoiceDocument[] = [];
          let cumulative = new Decimal(first);
          late.forEach((h, i) => {
            cumulative = cumulative.plus(h);
            const repriced = monthWith(cumulative.toString());
            const line = adjustmentLine(repriced, settlementOf(closed, laterFinals));
            const next = invoiceFor(`2027-0${i + 1}`, [], () => [], {
              adjustments: line === null ? [] : [line],
            });
            laterFinals.push(finalizeInvoice(next, `INV-2027-0${i + 1}-000001`, NOV.endMs));
            // After each close, what was billed for November equals November priced now.
            assert.ok(settlementOf(closed, laterFinals).billed.equals(ownCharge(repriced)));
            assert.equal(adjustmentLine(repriced, settlementOf(closed, laterFinals)), null);
          });
        },
      ),
    );
  });

  test('the content hash ignores key order and sees any change', () => {
    const p = plan('p', { cpu: [{ upTo: null, unitPrice: '0.04' }] });
    const draft = invoiceFor('2026-11', [{ effectiveFromMs: NOV.startMs, plan: p }], () => [
      usageRow(0, 'r', '10', '0'),
    ]);
    const final = finalizeInvoice(draft, 'INV-2026-11-000007', NOV.endMs);
    assert.equal(final.status, 'final');
    assert.match(final.contentHash ?? '', /^[0-9a-f]{64}$/);
    const reordered = JSON.parse(canonicalJson(final)) as InvoiceDocument;
    const shuffled = Object.fromEntries(
      Object.entries(reordered).reverse(),
    ) as unknown as InvoiceDocument;
    assert.equal(invoiceContentHash(shuffled), final.contentHash);
    assert.notEqual(invoiceContentHash({ ...final, total: '0.41' }), final.contentHash);
    assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: null }] }), '{"a":[{"c":null,"d":2}],"b":1}');
  });
});
