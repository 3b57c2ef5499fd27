import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeInvoiceEvent } from './decode';
import { encode, encodeInvoiceEvent } from './encode';
import { exampleBudgetThresholdReached, exampleInvoiceFinalized } from './event.fixtures';
import { INVOICE_EVENT_LIMITS, invoiceEventIdOf, invoiceEventKey } from './invoice.event';
import { ContractViolationError } from './contract.errors';
import { type Edit, edited, remove, set } from '../test/json-edit';

const bytesOf = (...edits: Edit[]): Buffer => encode(edited(exampleInvoiceFinalized(), ...edits));

test('the example invoice.finalized decodes, keyed by tenant', () => {
  const result = decodeInvoiceEvent(encodeInvoiceEvent(exampleInvoiceFinalized()));
  assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(result.value, exampleInvoiceFinalized());
  assert.equal(invoiceEventKey(result.value), 'acme');
});

test('every event type decodes with its own data', () => {
  const base = {
    schema: 'billing.invoices.v1',
    eventId: 'b'.repeat(64),
    occurredAt: '2026-12-03T00:00:00Z',
  };
  const events = [
    {
      ...base,
      type: 'invoice.drafted',
      tenantId: 'acme',
      data: {
        invoice: {
          period: '2026-11',
          number: null,
          currency: 'EUR',
          subtotal: '0',
          total: '0',
          contentHash: null,
        },
      },
    },
    {
      ...base,
      type: 'credit_note.issued',
      tenantId: 'acme',
      data: {
        creditNote: {
          number: 'CN-1',
          invoiceNumber: 'INV-2026-11-000001',
          period: '2026-11',
          currency: 'EUR',
          total: '-5.00',
        },
      },
    },
    {
      ...base,
      type: 'budget.threshold_reached',
      tenantId: 'acme',
      data: {
        budget: {
          thresholdId: 'bt_1',
          threshold: '100',
          amount: '100.01',
          currency: 'EUR',
          period: '2026-12',
          crossedAt: '2026-12-03T00:00:00Z',
        },
      },
    },
    {
      ...base,
      type: 'webhook_endpoint.disabled',
      tenantId: null,
      data: {
        endpoint: {
          id: 'we_1',
          url: 'https://erp.example/hook',
          reason: 'failing for 3 days',
          failingSince: '2026-11-30T00:00:00Z',
        },
      },
    },
  ];
  for (const event of events) {
    const result = decodeInvoiceEvent(encode(event));
    assert.ok(result.ok, `${event.type}: ${JSON.stringify(result)}`);
    assert.equal(result.value.type, event.type);
  }
  assert.equal(invoiceEventKey(decodeOk(encode(events[3]))), '_provider');
});

function decodeOk(bytes: Buffer) {
  const result = decodeInvoiceEvent(bytes);
  assert.ok(result.ok);
  return result.value;
}

const invalid: [name: string, bytes: Buffer | string | null, code: string, message: RegExp][] = [
  ['empty', Buffer.alloc(0), 'INVALID_JSON', /empty/],
  ['null (tombstone)', null, 'INVALID_JSON', /empty/],
  ['not UTF-8', Buffer.from([0x7b, 0xff]), 'INVALID_JSON', /UTF-8/],
  ['an array', '[]', 'SCHEMA_VIOLATION', /must be a JSON object/],
  ['no schema', bytesOf(remove('schema')), 'UNKNOWN_SCHEMA_VERSION', /^schema: is required/],
  [
    'another version',
    bytesOf(set('schema', 'billing.invoices.v2')),
    'UNKNOWN_SCHEMA_VERSION',
    /unsupported version/,
  ],
  ['unknown type', bytesOf(set('type', 'invoice.paid')), 'SCHEMA_VIOLATION', /^type: /],
  [
    'event id not hex',
    bytesOf(set('eventId', 'x'.repeat(64))),
    'SCHEMA_VIOLATION',
    /^eventId: must be 64/,
  ],
  [
    'NUL in tenant',
    bytesOf(set('tenantId', 'ac\u0000me')),
    'SCHEMA_VIOLATION',
    /^tenantId: must not contain control/,
  ],
  [
    'huge tenant',
    bytesOf(set('tenantId', 'é'.repeat(65))),
    'SCHEMA_VIOLATION',
    /^tenantId: must be at most 128 bytes/,
  ],
  [
    'null tenant on an invoice',
    bytesOf(set('tenantId', null)),
    'SCHEMA_VIOLATION',
    /^tenantId: must be a string, got null/,
  ],
  [
    'amount as a number',
    bytesOf(set('data.invoice.total', 12.34)),
    'SCHEMA_VIOLATION',
    /^data\.invoice\.total: must be a string, got number/,
  ],
  [
    'amount with exponent',
    bytesOf(set('data.invoice.total', '1e3')),
    'SCHEMA_VIOLATION',
    /^data\.invoice\.total: must be a decimal string/,
  ],
  [
    'amount NaN',
    bytesOf(set('data.invoice.total', 'NaN')),
    'SCHEMA_VIOLATION',
    /^data\.invoice\.total: must be a decimal string/,
  ],
  [
    'amount Infinity',
    bytesOf(set('data.invoice.total', 'Infinity')),
    'SCHEMA_VIOLATION',
    /^data\.invoice\.total: must be a decimal string/,
  ],
  [
    'amount of 41 digits',
    bytesOf(set('data.invoice.total', '9'.repeat(41))),
    'SCHEMA_VIOLATION',
    /at most 40 digits/,
  ],
  [
    'month 13',
    bytesOf(set('data.invoice.period', '2026-13')),
    'SCHEMA_VIOLATION',
    /^data\.invoice\.period: must be a month/,
  ],
  [
    'time without zone',
    bytesOf(set('occurredAt', '2026-12-03T00:00:00')),
    'SCHEMA_VIOLATION',
    /^occurredAt: must be an ISO-8601/,
  ],
  [
    'lower-case currency',
    bytesOf(set('data.invoice.currency', 'eur')),
    'SCHEMA_VIOLATION',
    /^data\.invoice\.currency: /,
  ],
  [
    'over the size bound',
    bytesOf(set('padding', 'x'.repeat(INVOICE_EVENT_LIMITS.maxEventBytes))),
    'SCHEMA_VIOLATION',
    /at most 65536 allowed/,
  ],
];

for (const [name, bytes, code, message] of invalid) {
  test(`rejected: ${name}`, () => {
    const result = decodeInvoiceEvent(bytes);
    assert.ok(!result.ok, `${name} was accepted`);
    assert.equal(result.reason.code, code);
    assert.match(result.reason.message, message);
  });
}

const budgetBytes = (...edits: Edit[]): Buffer =>
  encode(edited(exampleBudgetThresholdReached(), ...edits));

test('budget.threshold_reached: the example decodes; each member is checked', () => {
  assert.deepEqual(
    decodeOk(encodeInvoiceEvent(exampleBudgetThresholdReached())),
    exampleBudgetThresholdReached(),
  );
  const cases: [Buffer, RegExp][] = [
    [budgetBytes(remove('data.budget.thresholdId')), /^data\.budget\.thresholdId: /],
    [budgetBytes(set('data.budget.thresholdId', 'bt\u0000')), /^data\.budget\.thresholdId: /],
    [budgetBytes(set('data.budget.threshold', '-1')), /^data\.budget\.threshold: must be greater/],
    [
      budgetBytes(set('data.budget.threshold', '0.00')),
      /^data\.budget\.threshold: must be greater/,
    ],
    [budgetBytes(set('data.budget.amount', 1e21)), /^data\.budget\.amount: must be a string/],
    [budgetBytes(set('data.budget.crossedAt', '2026-12-03')), /^data\.budget\.crossedAt: /],
    [budgetBytes(remove('data.budget.period')), /^data\.budget\.period: /],
    [budgetBytes(set('tenantId', null)), /^tenantId: /],
  ];
  for (const [bytes, message] of cases) {
    const result = decodeInvoiceEvent(bytes);
    assert.ok(!result.ok, `accepted: ${message}`);
    assert.match(result.reason.message, message);
  }
});

test('unknown extra fields are kept', () => {
  const value = decodeOk(bytesOf(set('data.invoice.dueDate', '2026-12-31')));
  assert.equal(
    (value.data as { invoice: Record<string, unknown> }).invoice['dueDate'],
    '2026-12-31',
  );
});

test('the encoder refuses an invalid event', () => {
  const bad = { ...exampleInvoiceFinalized(), tenantId: '' };
  assert.throws(() => encodeInvoiceEvent(bad), ContractViolationError);
});

test('event ids are stable per fact and differ between facts', () => {
  const a = invoiceEventIdOf('invoice.finalized', ['acme', '2026-11']);
  assert.equal(a, invoiceEventIdOf('invoice.finalized', ['acme', '2026-11']));
  assert.notEqual(a, invoiceEventIdOf('invoice.drafted', ['acme', '2026-11']));
  assert.notEqual(a, invoiceEventIdOf('invoice.finalized', ['acme', '2026-12']));
  // No separator to forge: ["a-b","c"] and ["a","b-c"] differ.
  assert.notEqual(
    invoiceEventIdOf('invoice.finalized', ['a|b', 'c']),
    invoiceEventIdOf('invoice.finalized', ['a', 'b|c']),
  );
  assert.match(a, /^[0-9a-f]{64}$/);
});
