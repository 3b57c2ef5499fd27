import { test } from 'node:test';
import assert from 'node:assert/strict';
import { negotiate, type Offer } from './content-negotiation';

const INVOICE: readonly Offer<'json' | 'csv' | 'pdf'>[] = [
  { format: 'json', mediaType: 'application/json' },
  { format: 'csv', mediaType: 'text/csv' },
  { format: 'pdf', mediaType: 'application/pdf' },
];

const chosen = (accept: string | undefined): string => {
  const r = negotiate(accept, INVOICE);
  return r.kind === 'chosen' ? r.format : r.kind;
};

test('Accept picks the representation: q, then specificity, then the route order', () => {
  const cases: [string | undefined, string][] = [
    [undefined, 'json'],
    ['', 'json'],
    ['*/*', 'json'],
    ['application/pdf', 'pdf'],
    ['APPLICATION/PDF', 'pdf'],
    ['text/csv', 'csv'],
    ['text/csv; charset=utf-8', 'csv'],
    ['text/*', 'csv'],
    ['application/*', 'json'],
    ['application/*;q=0.5, application/pdf', 'pdf'],
    ['text/csv;q=0.4, application/pdf;q=0.9', 'pdf'],
    ['application/json;q=0, */*', 'csv'],
    ['*/*;q=0.1, text/csv;q=0.2', 'csv'],
    ['image/png, text/html', 'none'],
    ['application/json;q=0, text/csv;q=0, application/pdf;q=0', 'none'],
    ['application/xml', 'none'],
    ['garbage', 'json'], // unparseable ranges are skipped; nothing left admits everything
    ['text/csv;q=2', 'json'], // a malformed q drops its range
    ['text/csv;q=abc, application/pdf', 'pdf'],
    ['*/csv', 'json'],
    ['text/csv/extra, application/pdf', 'pdf'],
  ];
  for (const [accept, expected] of cases) assert.equal(chosen(accept), expected, String(accept));
});

test('hostile Accept headers are refused, not parsed', () => {
  for (const bad of ['text/csv\u0000', 'text/csv\r\n', 'application/pdf\u007f', 'tëxt/csv']) {
    const r = negotiate(bad, INVOICE);
    assert.equal(r.kind, 'invalid', JSON.stringify(bad));
  }
  assert.equal(negotiate(`${'text/csv,'.repeat(1000)}`, INVOICE).kind, 'invalid');
  // A tab is optional white space in a header.
  assert.equal(chosen('text/csv;\tq=1'), 'csv');
  assert.equal(negotiate('text/csv', []).kind, 'none');
});
