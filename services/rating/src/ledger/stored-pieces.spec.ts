import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { z } from 'zod';
import { LedgerRowError } from './ledger-db';
import { pieceToJson, storedPiece } from './ledger-rows';
import { piecesOfRow, readStoredPieces } from './stored-pieces';

// The pricing stage's page reads its pieces without zod's parse: for every value, what it reads
// is what z.array(storedPiece) gives, and what the schema refuses it does not read (the schema
// then says why). Values as PostgreSQL's jsonb gives them back, valid and mutated.

const schema = z.array(storedPiece);

const quantity = fc.oneof(
  fc.bigInt({ min: 0n, max: 2n ** 90n }).map(String),
  fc.constantFrom('0', '', ' 7 ', '0x1f', '-3', '1.5', 'x', '1e3'),
);
const tuple = fc.tuple(
  fc.integer(),
  fc.integer(),
  fc.integer(),
  quantity,
  quantity,
  quantity,
  quantity,
  quantity,
  quantity,
);
const part = fc.oneof(
  tuple,
  tuple,
  // One element too many or too few.
  tuple.map((t) => [...t, '0']),
  tuple.map((t) => t.slice(0, 8)),
  fc.array(fc.oneof(fc.integer(), fc.string(), fc.constant(null)), { maxLength: 10 }),
);
const piece = fc.record(
  {
    tenantId: fc.oneof(fc.string(), fc.integer()),
    resourceKind: fc.constantFrom('container', 'vm', 'pod'),
    resourceId: fc.string(),
    instanceId: fc.string(),
    period: fc.string(),
    gap: fc.oneof(fc.boolean(), fc.constant(0)),
    final: fc.boolean(),
    parts: fc.array(part, { maxLength: 4 }),
    extra: fc.string(),
  },
  { requiredKeys: ['resourceId', 'instanceId', 'period', 'final', 'parts'] },
);
const value = fc.oneof(
  fc.array(piece, { maxLength: 4 }),
  fc.constantFrom(null, 'pieces', 3, {}, [[]], [null]),
);

/** zod's answer: its pieces, its refusal, or what its transform threw. */
function byZod(v: unknown): { pieces: unknown } | { refused: true } | { threw: string } {
  try {
    const parsed = schema.safeParse(v);
    return parsed.success ? { pieces: parsed.data } : { refused: true };
  } catch (e) {
    return { threw: String(e) };
  }
}

test('the stored pieces read without zod are zod’s, and what zod refuses is not read', () => {
  fc.assert(
    fc.property(value, (v) => {
      const read = readStoredPieces(v);
      const zod = byZod(v);
      if (read !== undefined) assert.deepEqual({ pieces: read }, zod);
      else if ('pieces' in zod) {
        // Refused by the reader and taken by zod: piecesOfRow still gives zod's pieces.
        assert.deepEqual(piecesOfRow(v), zod.pieces);
      }
      if ('refused' in zod) assert.throws(() => piecesOfRow(v), LedgerRowError);
      if ('threw' in zod)
        assert.throws(
          () => piecesOfRow(v),
          (e) => String(e) === zod.threw,
        );
    }),
    { numRuns: 3_000 },
  );
});

test('a page of valid pieces is read by the reader itself', () => {
  const stored = [
    {
      tenantId: 't',
      resourceKind: 'vm',
      resourceId: 'r',
      instanceId: 'i',
      period: '2026-11',
      gap: false,
      final: true,
      parts: [[1, 2, 0, '10', '20', '20', '0', '5', '5']],
    },
  ];
  const read = readStoredPieces(stored);
  assert.ok(read !== undefined);
  assert.deepEqual(read, schema.parse(stored));
  assert.equal(read[0]!.parts[0]!.cpuAllocation, 20n);
});

test('a piece stored and read back is the piece itself (what a pass holds is what the row gives)', () => {
  const ms = fc.integer({ min: 0, max: 8_640_000_000_000_000 });
  const units = fc.bigInt({ min: 0n, max: 2n ** 100n });
  const domainPiece = fc.record({
    tenantId: fc.string({ unit: 'grapheme', maxLength: 40 }),
    resourceKind: fc.constantFrom('container' as const, 'vm' as const),
    resourceId: fc.string({ unit: 'grapheme', maxLength: 40 }),
    instanceId: fc.string({ maxLength: 40 }),
    period: fc.string({ maxLength: 7 }),
    gap: fc.boolean(),
    final: fc.boolean(),
    parts: fc.array(
      fc.record({
        fromMs: ms,
        toMs: ms,
        bucketStartMs: ms,
        cpuUsage: units,
        cpuAllocation: units,
        cpuMax: units,
        memoryUsage: units,
        memoryAllocation: units,
        memoryMax: units,
      }),
      { maxLength: 4 },
    ),
  });
  fc.assert(
    fc.property(fc.array(domainPiece, { maxLength: 4 }), (generated) => {
      // Plain objects, as the fold makes them (fast-check's records have no prototype).
      const pieces = generated.map((p) => ({ ...p, parts: p.parts.map((x) => ({ ...x })) }));
      const row: unknown = JSON.parse(JSON.stringify(pieces.map(pieceToJson)));
      assert.deepStrictEqual(readStoredPieces(row), pieces);
    }),
    { numRuns: 1_000 },
  );
});
