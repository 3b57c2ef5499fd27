import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isoMillis } from './iso-millis';

const read = (text: string) => isoMillis(Buffer.from(text, 'latin1'), 0, text.length);

test('isoMillis gives Date.parse’s milliseconds for every instant of years 0000–9999', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }),
      fc.boolean(),
      (ms, whole) => {
        const full = new Date(ms).toISOString();
        assert.equal(read(full), ms);
        const seconds = full.replace(/\.\d{3}Z$/, 'Z');
        assert.equal(read(seconds), Date.parse(seconds));
        if (whole) assert.equal(read(seconds), Math.floor(ms / 1000) * 1000);
      },
    ),
    { numRuns: 5000 },
  );
});

test('isoMillis: leap days of the Gregorian rule, and what is not a date or not this form', () => {
  for (const ok of ['2000-02-29T00:00:00Z', '2024-02-29T23:59:59.999Z', '0000-02-29T00:00:00Z']) {
    assert.equal(read(ok), Date.parse(ok), ok);
  }
  for (const bad of [
    '1900-02-29T00:00:00Z',
    '2026-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-00-01T00:00:00Z',
    '2026-01-00T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T00:60:00Z',
    '2026-01-01T00:00:60Z',
    '2026-01-01T00:00:00+00:00',
    '2026-01-01T00:00:00.1Z',
    '2026-01-01T00:00:00.1234Z',
    '2026-01-01t00:00:00Z',
    '2026-01-01T00:00:00z',
    '2026-01-01 00:00:00Z',
    '2026-0a-01T00:00:00Z',
    '2026-01-01T00:00:00.0a0Z',
    '+02026-01-01T00:00:00Z',
    '-2026-01-01T00:00:00Z',
    '',
    '\u0000'.repeat(20),
  ]) {
    assert.ok(Number.isNaN(read(bad)), bad);
  }
});
