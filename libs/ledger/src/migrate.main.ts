import 'reflect-metadata';
import { migrateLedgerForApp } from './ledger.data-source';
import { loadMigrateConfig, type MigrateConfig } from './migrate.config';

const USAGE = `usage: node libs/ledger/dist/src/migrate.main.js   (npm run ledger:migrate)
Brings the ledger schema up to date as its owner and grants the services' role its privileges.
  DATABASE_MIGRATION_URL  the owner's postgres:// URL, used for this step only (required)
  DATABASE_URL            what the services connect as; its user is the role granted (required)
  DATABASE_SCHEMA         the ledger's schema (default public)`;

/**
 * The migration step run before the services (a Kubernetes init container, compose's
 * `ledger-migrate`, the local stack's services.sh): the only process that holds the owner's
 * credentials. Exit 0 migrated (the JSON line names what was applied), 1 failed, 2 settings.
 */
export async function main(load: () => MigrateConfig = loadMigrateConfig): Promise<number> {
  let config: MigrateConfig;
  try {
    config = load();
  } catch (error) {
    process.stderr.write(`ledger-migrate: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const applied = await migrateLedgerForApp({ ...config, applicationName: 'ledger' });
  // Never the URLs: they hold passwords.
  process.stdout.write(`${JSON.stringify({ schema: config.schema, applied })}\n`);
  return 0;
}

if (require.main === module) {
  main().then(
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
