import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { localInfra } from './local-infra';

/**
 * The role the services connect as in the local stack (infra/local/postgres.sh makes it with a
 * password in $STACK_DIR/secrets). Tests connect the services as it, and migrate as the owner.
 */
export const APP_ROLE = 'metering_app';

/** localInfra.postgresUrl with the app role's user (and its password when the stack made one). */
export function appPostgresUrl(): string {
  if (process.env.DATABASE_APP_URL !== undefined) return process.env.DATABASE_APP_URL;
  const url = new URL(localInfra.postgresUrl);
  url.username = APP_ROLE;
  const stackDir = process.env.STACK_DIR;
  if (stackDir !== undefined) {
    try {
      url.password = encodeURIComponent(
        readFileSync(join(stackDir, 'secrets', 'postgres-app.password'), 'utf8').trim(),
      );
    } catch {
      // A stack from before the app role: trust auth on loopback needs no password.
    }
  }
  return url.toString();
}

let ensured: Promise<void> | undefined;

/**
 * Makes the app role when the running stack predates it (once per process). Concurrent spec
 * processes may race on CREATE ROLE: a duplicate is the other one's success.
 */
export function ensureAppRole(): Promise<void> {
  ensured ??= (async () => {
    const role = new URL(appPostgresUrl()).username;
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(role)) throw new RangeError(`bad app role "${role}"`);
    const owner = new Client({ connectionString: localInfra.postgresUrl });
    await owner.connect();
    try {
      await owner.query(`
        DO $$ BEGIN
          CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$`);
    } finally {
      await owner.end();
    }
  })();
  return ensured;
}
