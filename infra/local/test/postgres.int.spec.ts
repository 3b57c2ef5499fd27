import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { localInfra, uniqueName } from '@metering/testing';

// Smoke test: TypeORM applies and reverts a migration on the real PostgreSQL, in a schema of its own.
const schema = uniqueName('smoke');

class CreateSmokeTable1700000000000 implements MigrationInterface {
  name = 'CreateSmokeTable1700000000000';
  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "${schema}"."usage_smoke" (id bigserial PRIMARY KEY, amount numeric(38, 18) NOT NULL)`,
    );
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "${schema}"."usage_smoke"`);
  }
}

let ds: DataSource;

before(async () => {
  const admin = new DataSource({ type: 'postgres', url: localInfra.postgresUrl });
  await admin.initialize();
  await admin.query(`CREATE SCHEMA "${schema}"`);
  await admin.destroy();
  ds = new DataSource({
    type: 'postgres',
    url: localInfra.postgresUrl,
    schema,
    migrations: [CreateSmokeTable1700000000000],
    migrationsTableName: 'migrations',
  });
  await ds.initialize();
});

after(async () => {
  if (ds?.isInitialized) {
    await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await ds.destroy();
  }
});

async function tableExists(): Promise<boolean> {
  const rows: unknown[] = await ds.query(
    `SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'usage_smoke'`,
    [schema],
  );
  return rows.length === 1;
}

test('a TypeORM migration is applied, keeps NUMERIC exact, and is reverted', async () => {
  const applied = await ds.runMigrations({ transaction: 'each' });
  assert.deepEqual(
    applied.map((m) => m.name),
    ['CreateSmokeTable1700000000000'],
  );
  assert.equal(await tableExists(), true);

  // NUMERIC keeps decimals exact: 0.1 added ten times is exactly 1 (binary floats are not).
  await ds.query(
    `INSERT INTO "${schema}"."usage_smoke" (amount) SELECT 0.1 FROM generate_series(1, 10)`,
  );
  const [sum] = await ds.query<{ s: string }[]>(
    `SELECT sum(amount)::text AS s FROM "${schema}"."usage_smoke"`,
  );
  assert.equal(sum?.s, '1.000000000000000000');

  await ds.undoLastMigration({ transaction: 'each' });
  assert.equal(await tableExists(), false);
  assert.equal(await ds.showMigrations(), true, 'the reverted migration is pending again');
});
