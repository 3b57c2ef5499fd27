/**
 * The role the services should connect as: it reads and writes the ledger but owns nothing, so
 * it cannot `ALTER TABLE … DISABLE TRIGGER` (only an owner or a superuser can), drop the tables
 * or TRUNCATE them (no TRUNCATE privilege; the statement triggers refuse it anyway). UPDATE and
 * DELETE stay granted for the mutable tables; the row triggers refuse them on final documents.
 * Migrations then run as the owner (MIGRATE_ON_START=false for the services).
 *
 * Returns the statements for an existing schema; identifiers are validated, not quoted blindly.
 * docs/operations.md, "Database roles", shows them for the default `metering_app`.
 */
export function appRoleStatements(role: string, schema: string, password?: string): string[] {
  for (const [what, name] of [
    ['role', role],
    ['schema', schema],
  ] as const) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
      throw new RangeError(`${what} "${name}" must be a lower-case SQL identifier`);
    }
  }
  const login =
    password === undefined ? 'LOGIN' : `LOGIN PASSWORD '${password.replace(/'/g, "''")}'`;
  return [
    `CREATE ROLE ${role} ${login} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`,
    `GRANT USAGE ON SCHEMA ${schema} TO ${role}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${role}`,
    `GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA ${schema} TO ${role}`,
    // Tables a later migration creates (as the owner) are granted the same way.
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${role}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${role}`,
  ];
}
