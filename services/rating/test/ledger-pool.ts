import { type Pool } from 'pg';
import { type DataSource } from 'typeorm';

/**
 * The node-postgres pool under a spec's TypeORM DataSource (its PostgresDriver's `master`): what
 * rating's ledger runs on (ledger/ledger-db.ts), with the DataSource's schema (search_path) and
 * size. The specs keep their DataSource for migrating and for their own checks; rating's stores get
 * its pool, as the service's do (connections.providers.ts).
 */
export function ledgerPool(dataSource: DataSource): Pool {
  const pool = (dataSource.driver as unknown as { master?: Pool }).master;
  if (pool === undefined) throw new Error('the DataSource is not initialized: it has no pool yet');
  return pool;
}
