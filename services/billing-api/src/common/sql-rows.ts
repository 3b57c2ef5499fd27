import { z } from 'zod';

/**
 * What runs a statement: the DataSource, a transaction's EntityManager or a QueryRunner. The one
 * place in billing-api that calls `query()` is this file (eslint.config.mjs refuses it elsewhere).
 */
export interface Queryable {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/**
 * A row PostgreSQL returned is not what the statement's schema says (a migration and the code
 * disagree): a fault of the service, answered as a 500 (error.filter.ts maps any error that is
 * not a BillingError to INTERNAL and logs it), never as the caller's 4xx. The message names the
 * statement's first words and the column path, never a row's values (they may be secrets).
 */
export class RowShapeError extends Error {
  override readonly name = 'RowShapeError';
}

/**
 * The statement's rows, each checked and mapped by `row` (a zod schema per row shape, beside the
 * repository that reads it): the row is typed at the boundary, never cast (docs/engineering.md,
 * "Rows read from PostgreSQL").
 */
export async function rows<S extends z.ZodType>(
  db: Queryable,
  row: S,
  sql: string,
  params: readonly unknown[] = [],
): Promise<z.output<S>[]> {
  const raw = await db.query(sql, [...params]);
  return parseRows(row, rowsOf(raw, sql), sql);
}

/** The statement's first row, checked by `row`, or null when it returned none. */
export async function firstRow<S extends z.ZodType>(
  db: Queryable,
  row: S,
  sql: string,
  params: readonly unknown[] = [],
): Promise<z.output<S> | null> {
  const all = await rows(db, row, sql, params);
  return all[0] ?? null;
}

/** A statement whose rows, if any, are not read. */
export async function execute(
  db: Queryable,
  sql: string,
  params: readonly unknown[] = [],
): Promise<void> {
  await db.query(sql, [...params]);
}

/** An UPDATE or DELETE: how many rows it changed (the driver's count). */
export async function affected(
  db: Queryable,
  sql: string,
  params: readonly unknown[] = [],
): Promise<number> {
  const raw = await db.query(sql, [...params]);
  if (isUpdateResult(raw)) return raw[1];
  throw new RowShapeError(`${firstWords(sql)}: the driver returned no count of changed rows`);
}

/** TypeORM answers an UPDATE/DELETE with [rows, affected] and anything else with the rows. */
function rowsOf(raw: unknown, sql: string): unknown[] {
  if (isUpdateResult(raw)) return raw[0];
  if (Array.isArray(raw)) return raw;
  throw new RowShapeError(`${firstWords(sql)}: the driver returned no rows array`);
}

function isUpdateResult(raw: unknown): raw is [unknown[], number] {
  return (
    Array.isArray(raw) && raw.length === 2 && Array.isArray(raw[0]) && typeof raw[1] === 'number'
  );
}

function parseRows<S extends z.ZodType>(
  row: S,
  raw: readonly unknown[],
  sql: string,
): z.output<S>[] {
  const out = new Array<z.output<S>>(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const parsed = row.safeParse(raw[i]);
    if (!parsed.success) {
      // Path and expectation only: zod's issue messages name the expected type, not the input.
      const issues = parsed.error.issues
        .slice(0, 3)
        .map((issue) => `${issue.path.map(String).join('.') || '(row)'}: ${issue.message}`)
        .join('; ');
      throw new RowShapeError(`${firstWords(sql)}: a row is not as expected (${issues})`);
    }
    out[i] = parsed.data;
  }
  return out;
}

/** The statement's first words, enough to find it, never its parameters. */
export function firstWords(sql: string): string {
  const words = sql.trim().split(/\s+/).slice(0, 6).join(' ');
  return words.length > 60 ? `${words.slice(0, 60)}…` : words;
}

/**
 * A jsonb document the service wrote itself and has no zod schema of its own (an invoice, a
 * credit note): checked to be an object here, its shape is the writer's (and, for documents,
 * the content hash the reader checks).
 */
export const jsonDocument = <T extends object>(): z.ZodType<T> =>
  z.custom<T>((value) => typeof value === 'object' && value !== null && !Array.isArray(value));
