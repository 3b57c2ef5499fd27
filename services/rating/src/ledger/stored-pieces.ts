import { z } from 'zod';
import { type PiecePart, type UnpricedPiece } from '../domain';
import { parseLedgerValue } from './ledger-db';
import { partOf, storedPiece } from './ledger-rows';

const storedPieces = z.array(storedPiece);

/**
 * A page row's pieces (`rating_unpriced_usage.piece`, an array of storedPiece) as the domain's
 * UnpricedPieces: read as storedPiece reads them (readStoredPieces), or, for anything that reader
 * does not take, by the zod schema, which says what is wrong (LedgerRowError).
 */
export function piecesOfRow(value: unknown): UnpricedPiece[] {
  return readStoredPieces(value) ?? parseLedgerValue(storedPieces, value, 'pieces ');
}

/**
 * z.array(storedPiece).parse(value) without zod's parse: the pricing stage reads every piece of a
 * month this way, and zod's validation of nine-element parts was ~170 B of garbage a sample and
 * most of a page's time on rating's main thread (docs/adr/0014, twelfth session). undefined for
 * anything not exactly of the stored shape (the caller then asks zod): it never gives a result
 * the schema would not give (stored-pieces.spec.ts holds it to that).
 */
export function readStoredPieces(value: unknown): UnpricedPiece[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out = new Array<UnpricedPiece>(value.length);
  for (let i = 0; i < value.length; i++) {
    const piece = readPiece(value[i]);
    if (piece === undefined) return undefined;
    out[i] = piece;
  }
  return out;
}

function readPiece(value: unknown): UnpricedPiece | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { tenantId, resourceKind, resourceId, instanceId, period, gap, final, parts } =
    value as Record<string, unknown>;
  if (
    typeof tenantId !== 'string' ||
    (resourceKind !== 'container' && resourceKind !== 'vm') ||
    typeof resourceId !== 'string' ||
    typeof instanceId !== 'string' ||
    typeof period !== 'string' ||
    typeof gap !== 'boolean' ||
    typeof final !== 'boolean' ||
    !Array.isArray(parts)
  )
    return undefined;
  const read = new Array<PiecePart>(parts.length);
  for (let k = 0; k < parts.length; k++) {
    const part = readPart(parts[k]);
    if (part === undefined) return undefined;
    read[k] = part;
  }
  return { tenantId, resourceKind, resourceId, instanceId, period, gap, final, parts: read };
}

/** A stored part: [fromMs, toMs, bucketStartMs, the six quantities as decimal strings]. */
function readPart(value: unknown): PiecePart | undefined {
  if (!Array.isArray(value) || value.length !== 9) return undefined;
  const [fromMs, toMs, bucketStartMs, c1, c2, c3, m1, m2, m3] = value as unknown[];
  if (!isFiniteNumber(fromMs) || !isFiniteNumber(toMs) || !isFiniteNumber(bucketStartMs))
    return undefined;
  if (
    typeof c1 !== 'string' ||
    typeof c2 !== 'string' ||
    typeof c3 !== 'string' ||
    typeof m1 !== 'string' ||
    typeof m2 !== 'string' ||
    typeof m3 !== 'string'
  )
    return undefined;
  try {
    return partOf(fromMs, toMs, bucketStartMs, c1, c2, c3, m1, m2, m3);
  } catch {
    // Not an integer: the schema's transform throws the same, where it says so.
    return undefined;
  }
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
