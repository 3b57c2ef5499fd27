import { type MonthPosition, positionKey } from '../domain';
import { type LedgerDb, type LedgerTx } from './ledger-db';
import { POSITION_COLUMNS, positionRow } from './ledger-rows';

/** A tenant's month, as a position is keyed. */
export interface MonthKey {
  readonly tenantId: string;
  readonly period: string;
}

/**
 * Locks the month positions (in the order given: callers sort, so transactions never deadlock)
 * and returns them by positionKey; a month seen for the first time starts at zero. One round trip.
 */
export async function lockPositions(
  db: LedgerDb,
  tx: LedgerTx,
  keys: readonly MonthKey[],
): Promise<Map<string, MonthPosition>> {
  if (keys.length === 0) return new Map();
  const rows = await db.rows(
    tx,
    positionRow,
    `INSERT INTO tenant_month_position AS p (tenant_id, period)
     SELECT t, m FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS x(t, m, n) ORDER BY n
     ON CONFLICT (tenant_id, period) DO UPDATE SET updated_at = p.updated_at
     RETURNING ${POSITION_COLUMNS}`,
    [keys.map((k) => k.tenantId), keys.map((k) => k.period)],
  );
  return byKey(rows);
}

function byKey(positions: readonly MonthPosition[]): Map<string, MonthPosition> {
  const out = new Map<string, MonthPosition>();
  for (const p of positions) out.set(positionKey(p.tenantId, p.period), p);
  return out;
}
