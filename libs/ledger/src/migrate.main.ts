import 'reflect-metadata';
import { migrateLedgerForApp } from './ledger.data-source';

const USAGE = `usage: node libs/ledger/dist/src/migrate.main.js   (npm run ledger:migrate)
Brings the ledger schema up to date as its owner and grants the services' role its privileges.
  DATABASE_MIGRATION_URL  the owner's postgres:// URL, used for this step only (required)
  DATABASE_URL            what the services connect as; its user is the role granted (required)
  DATABASE_SCHEMA         the ledger's schema (default public)`;

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The migration step run before the services (a Kubernetes init container, compose's `migrate`
 * service, the local stack): the only process that holds the owner's credentials. Its settings
 * are read here, once; the services read theirs in their own config.
 */
export async function main(env: NodeJS.ProcessEnv): Promise<number> {
  const migrationUrl = env.DATABASE_MIGRATION_URL ?? '';
  const url = env.DATABASE_URL ?? '';
  const schema = env.DATABASE_SCHEMA ?? 'public';
  const missing = [
    migrationUrl === '' ? 'DATABASE_MIGRATION_URL' : null,
    url === '' ? 'DATABASE_URL' : null,
  ].filter((m) => m !== null);
  if (missing.length > 0 || !SCHEMA.test(schema)) {
    const what =
      missing.length > 0
        ? `${missing.join(' and ')} must be set`
        : 'DATABASE_SCHEMA must be a lower-case SQL identifier';
    process.stderr.write(`ledger-migrate: ${what}\n${USAGE}\n`);
    return 2;
  }
  const applied = await migrateLedgerForApp({
    url,
    migrationUrl,
    schema,
    applicationName: 'ledger',
  });
  // Never the URLs: they hold passwords.
  process.stdout.write(`${JSON.stringify({ schema, applied })}\n`);
  return 0;
}

if (require.main === module) {
  main(process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(
        `ledger-migrate: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
