import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadMigrateConfig } from './migrate.config';

test('the migration step needs both URLs and a schema identifier, and names what is wrong', () => {
  assert.throws(
    () => loadMigrateConfig({}),
    /DATABASE_MIGRATION_URL must be set; DATABASE_URL must be set/,
  );
  assert.throws(
    () =>
      loadMigrateConfig({
        DATABASE_MIGRATION_URL: 'postgres://o@h/db',
        DATABASE_URL: 'postgres://a@h/db',
        DATABASE_SCHEMA: 'Public";drop',
      }),
    /DATABASE_SCHEMA must be a lower-case SQL identifier/,
  );
  assert.deepEqual(
    loadMigrateConfig({
      DATABASE_MIGRATION_URL: 'postgres://o@h/db',
      DATABASE_URL: 'postgres://a@h/db',
    }),
    { migrationUrl: 'postgres://o@h/db', url: 'postgres://a@h/db', schema: 'public' },
  );
});
