import { Pool } from 'pg';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';

// The ledger for a process that runs its own SQL (rating): node-postgres's pool, and the
// migrations run in a worker thread. Nothing here loads TypeORM: a process that imports only this
// file (`@metering/ledger/dist/src/ledger-pool`) keeps TypeORM's modules and their live heap out
// of its isolate, which each full collection would mark again (docs/adr/0014-rating-scale-out.md,
// "TypeORM out of rating's process"). The worker's isolate, TypeORM in it, goes when it ends.

export interface LedgerConnectionOptions {
  /** postgres://user@host:port/database */
  readonly url: string;
  /** PostgreSQL schema holding the ledger (tests use one each). */
  readonly schema?: string | undefined;
  readonly poolSize?: number | undefined;
  readonly applicationName?: string | undefined;
}

export interface LedgerMigrationOptions {
  /** What the service connects as (the role granted when a migration URL is given). */
  readonly url: string;
  /** The owner's URL, used for this step only; null: migrate over `url` (it owns the tables). */
  readonly migrationUrl: string | null;
  readonly schema?: string;
  readonly applicationName?: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** The ledger's schema name, checked: it goes into search_path and DDL unquoted. */
export function ledgerSchema(schema: string | undefined): string {
  const name = schema ?? 'public';
  if (!IDENTIFIER.test(name)) {
    throw new Error(`ledger schema "${name}" must match ${IDENTIFIER.source}`);
  }
  return name;
}

/**
 * A pool of connections to the ledger, as createLedgerDataSource's DataSource opens them:
 * unqualified names resolve to the ledger's schema (search_path), `application_name` names the
 * service in pg_stat_activity, at most `poolSize` connections (default 10).
 *
 * A connection lost (the server restarted, the network cut) is handed to `lost`, idle or in use:
 * node-postgres emits it as an 'error' event, which with no listener would end the process. An
 * idle one leaves the pool; one in use also fails the statement it ran, which its caller sees.
 */
export function createLedgerPool(
  options: LedgerConnectionOptions,
  lost: (error: Error) => void = () => undefined,
): Pool {
  const schema = ledgerSchema(options.schema);
  const pool = new Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    application_name: options.applicationName ?? 'metering',
    options: `-c search_path=${schema}`,
  });
  pool.on('error', (error) => lost(error));
  pool.on('connect', (client) => client.on('error', (error) => lost(error)));
  return pool;
}

/**
 * migrateLedgerForApp (ledger.data-source.ts) in a worker thread: the names of the migrations
 * applied. TypeORM loads in the worker's isolate only, which ends with it. A failure rejects
 * with the worker's error message (never the URLs: they hold passwords).
 */
export function migrateLedgerInWorker(options: LedgerMigrationOptions): Promise<string[]> {
  return new Promise<string[]>((resolve, reject) => {
    const worker = new Worker(join(__dirname, 'migrate.worker.js'), { workerData: options });
    let settled = false;
    const settle = (done: () => void): void => {
      if (settled) return;
      settled = true;
      done();
    };
    worker.once('message', (answer: MigrateAnswer) => {
      settle(() =>
        answer.ok
          ? resolve(answer.applied)
          : reject(new Error(`ledger migration: ${answer.error}`)),
      );
    });
    worker.once('error', (error) => settle(() => reject(error)));
    worker.once('exit', (code) =>
      settle(() => reject(new Error(`ledger migration worker exited with code ${code}`))),
    );
  });
}

/** What the migration worker answers (migrate.worker.ts). */
export type MigrateAnswer =
  | { readonly ok: true; readonly applied: string[] }
  | { readonly ok: false; readonly error: string };
