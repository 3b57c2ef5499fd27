import { type Pool, type PoolClient } from 'pg';
import { type z } from 'zod';
import { StatementNames, isStalePreparedStatement } from './statement-names';

declare const LEDGER_TX: unique symbol;

/**
 * A ledger transaction as the application holds it: opaque. The application decides what commits
 * together (it runs its work in LedgerDb.transaction and hands the transaction to the stores), but
 * only the stores of this folder can run statements in it; nothing outside ledger/ imports pg.
 */
export interface LedgerTx {
  readonly [LEDGER_TX]: true;
}

/** The one implementation: the connection the transaction runs on, and its pool. */
class PooledTx implements LedgerTx {
  declare readonly [LEDGER_TX]: true;
  constructor(
    readonly client: PoolClient,
    readonly pool: Pool,
  ) {}
}

function pooledTx(tx: LedgerTx): PooledTx {
  if (tx instanceof PooledTx) return tx;
  throw new Error('not a transaction of LedgerDb.transaction');
}

/** The process's statement names (every LedgerDb's: they share the pool's connections). */
const NAMES = new StatementNames();

/** Whether this process still prepares its statements (false once the server kept losing them). */
export function preparingStatements(): boolean {
  return NAMES.naming;
}

/** The pools whose transactions run their statements unnamed (DATABASE_PREPARED_STATEMENTS=false). */
const UNPREPARED = new WeakSet<Pool>();

/**
 * Statements in transactions on this pool are parsed at every run, never prepared: for a
 * PostgreSQL reached through a pooler that does not keep named prepared statements per client
 * (PgBouncer in transaction mode before 1.21, or without max_prepared_statements).
 */
export function withoutPreparedStatements(pool: Pool): void {
  UNPREPARED.add(pool);
}

/**
 * The server refused a prepared statement it was expected to have (statement-names.ts): the
 * names start over, and the batch is retried, never blamed on its messages.
 */
export class StalePreparedStatementError extends Error {
  override readonly name = 'StalePreparedStatementError';
  readonly retriable = true;
}

/**
 * A row the ledger returned is not what the statement's schema says (a migration and the code
 * disagree). Retriable: the partition stalls visibly (the runner reports it) instead of its
 * messages being dead-lettered one by one for a fault none of them has.
 */
export class LedgerRowError extends Error {
  override readonly name = 'LedgerRowError';
  readonly retriable = true;
}

/**
 * The rating ledger's connections (node-postgres's pool: no TypeORM in rating's process,
 * docs/adr/0014-rating-scale-out.md), shared by its stores (batch-ledger.store.ts, outbox.store.ts,
 * reprice.store.ts, backfill.reader.ts, catalog.reader.ts). Every row read goes through a zod
 * schema (ledger-rows.ts): the row is checked at the boundary and mapped to the domain's type in
 * one place, never cast (docs/adr/0014-rating-scale-out.md, "Rows checked at the boundary").
 */
export class LedgerDb {
  constructor(private readonly pool: Pool) {}

  /** The ledger of a transaction's connection (specs that stage into the outbox from a sink). */
  static of(tx: LedgerTx): LedgerDb {
    return new LedgerDb(pooledTx(tx).pool);
  }

  /** Runs `work` in one READ COMMITTED transaction: all of it commits, or none of it. */
  transaction<T>(work: (tx: LedgerTx) => Promise<T>): Promise<T> {
    return this.inTransaction('READ COMMITTED', work);
  }

  /**
   * `work` in a transaction of `isolation` on a connection of the pool, begun by one statement,
   * committed when `work` resolves, rolled back when it or the commit throws (the error is
   * rethrown, never a rollback's). A connection whose rollback fails is closed, not pooled again.
   */
  private async inTransaction<T>(
    isolation: 'READ COMMITTED' | 'REPEATABLE READ',
    work: (tx: LedgerTx) => Promise<T>,
  ): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(`START TRANSACTION ISOLATION LEVEL ${isolation}`);
      try {
        const result = await work(new PooledTx(client, this.pool));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        broken = await rollback(client);
        throw error;
      }
    } finally {
      client.release(broken);
    }
  }

  /**
   * Runs `work` in one REPEATABLE READ transaction: every statement sees the snapshot the first
   * one took, so rows another transaction commits meanwhile are all seen or none. A serialization
   * failure (SQLSTATE 40001: a row `work` updates or locks was changed by a transaction committed
   * after that snapshot) rolls it back and `work` runs again in a new transaction, `attempts`
   * times at most; `work` must therefore hand out nothing before the commit.
   */
  async snapshotTransaction<T>(work: (tx: LedgerTx) => Promise<T>, attempts = 5): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.inTransaction('REPEATABLE READ', work);
      } catch (error) {
        if (attempt >= attempts || !isSerializationFailure(error)) throw error;
      }
    }
  }

  /** The statement's rows, each checked and mapped by `row`; `tx` null: outside a transaction. */
  async rows<S extends z.ZodType>(
    tx: LedgerTx | null,
    row: S,
    sql: string,
    params: readonly unknown[] = [],
  ): Promise<z.output<S>[]> {
    const raw: unknown = await this.query(tx, sql, params);
    return parseRows(row, raw);
  }

  /** A statement whose rows, if any, are not read. */
  async execute(tx: LedgerTx | null, sql: string, params: readonly unknown[] = []): Promise<void> {
    await this.query(tx, sql, params);
  }

  /**
   * In a transaction, a named prepared statement (statement-names.ts): its connection parses and
   * plans it once, then only binds and runs it, and the client no longer sends its text. Outside
   * one (rare statements on any connection of the pool), unnamed.
   */
  private async query(
    tx: LedgerTx | null,
    sql: string,
    params: readonly unknown[],
  ): Promise<unknown> {
    if (tx === null) return (await this.pool.query(sql, [...params])).rows;
    const { client } = pooledTx(tx);
    const name = UNPREPARED.has(this.pool) ? null : NAMES.nameOf(sql);
    if (name === null) return (await client.query(sql, [...params])).rows;
    try {
      return (await client.query({ name, text: sql, values: [...params] })).rows;
    } catch (error) {
      if (!isStalePreparedStatement(error)) throw error;
      const again = NAMES.forget(Date.now());
      throw new StalePreparedStatementError(
        again
          ? `the ledger no longer has prepared statement ${name}: statements are prepared again`
          : `the ledger keeps losing its prepared statements (${name}; a pooler that hands each transaction another session?): statements now run unprepared; set DATABASE_PREPARED_STATEMENTS=false`,
        { cause: error },
      );
    }
  }

  /**
   * The rows of `sql` in pages of `pageSize`, from one consistent snapshot (a cursor in a
   * read-only REPEATABLE READ transaction), however many there are.
   */
  async *snapshotPages<S extends z.ZodType>(
    row: S,
    sql: string,
    params: readonly unknown[],
    pageSize: number,
  ): AsyncGenerator<z.output<S>[]> {
    const client = await this.pool.connect();
    let open = false;
    let broken: Error | undefined;
    try {
      open = true;
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await client.query(`DECLARE snapshot_pages NO SCROLL CURSOR FOR ${sql}`, [...params]);
      for (;;) {
        const raw: unknown = (
          await client.query(`FETCH ${Math.max(1, Math.floor(pageSize))} FROM snapshot_pages`)
        ).rows;
        const rows = parseRows(row, raw);
        if (rows.length === 0) break;
        yield rows;
      }
      await client.query('COMMIT');
      open = false;
    } finally {
      // An iteration stopped early (or failed) leaves the transaction open, and releasing does
      // not end it: the pool would hand the next user a connection inside this read-only
      // snapshot. A ROLLBACK that fails means a dead connection: closed, not pooled again.
      if (open) broken = await rollback(client);
      client.release(broken);
    }
  }
}

/** ROLLBACK on `client`; its error when it fails (the caller closes the connection then). */
async function rollback(client: PoolClient): Promise<Error | undefined> {
  try {
    await client.query('ROLLBACK');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function parseRows<S extends z.ZodType>(row: S, raw: unknown): z.output<S>[] {
  if (!Array.isArray(raw)) throw new LedgerRowError('the ledger returned no rows array');
  const out: z.output<S>[] = new Array<z.output<S>>(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = parseLedgerValue(row, raw[i]);
  return out;
}

/**
 * `value` (a row, or a column of one: `what` names it, with a trailing space) as `schema` reads
 * it; a LedgerRowError saying what is wrong when it does not.
 */
export function parseLedgerValue<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what = '',
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new LedgerRowError(`a ledger row is not as expected: ${what}${parsed.error.message}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/** SQLSTATE 40001 (node-postgres's error carries it; a wrapping error's `driverError` too). */
export function isSerializationFailure(error: unknown): boolean {
  for (const candidate of [error, (error as { driverError?: unknown } | null)?.driverError]) {
    if ((candidate as { code?: unknown } | null | undefined)?.code === '40001') return true;
  }
  return false;
}
