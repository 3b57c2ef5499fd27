import { type DataSource } from 'typeorm';
import { createLedgerDataSource } from '@metering/ledger';
import { localInfra, uniqueName } from '@metering/testing';

/**
 * A schema of its own on the local PostgreSQL, reached through a pool of one connection: what a
 * transaction leaves on its session, the next statement sees. `drop` removes the schema and closes
 * the pool.
 */
export async function oneConnectionLedger(
  prefix: string,
): Promise<{ ds: DataSource; schema: string; drop: () => Promise<void> }> {
  const schema = uniqueName(prefix);
  const ds = createLedgerDataSource({ url: localInfra.postgresUrl, schema, poolSize: 1 });
  await ds.initialize();
  await ds.query(`CREATE SCHEMA ${schema}`);
  return {
    ds,
    schema,
    drop: async () => {
      await ds.query(`DROP SCHEMA ${schema} CASCADE`);
      await ds.destroy();
    },
  };
}
