/**
 * The role the services connect as: it reads and writes the ledger but owns nothing, so it
 * cannot `ALTER TABLE … DISABLE TRIGGER` (only an owner or a superuser can), DROP, ALTER or
 * TRUNCATE the tables. On the final documents (invoices, credit notes, their stored PDFs) it
 * may only SELECT and INSERT: UPDATE and DELETE are not granted there at all, and the row
 * triggers refuse them even for the owner. The migration history is read-only to it.
 * Migrations run as the owner, on their own connection (`migrateLedger` with `grantTo`).
 *
 * Identifiers are validated, not quoted blindly. docs/operations.md, "Database roles".
 */

/** Final documents: written once, in the transaction that makes them final; never changed. */
export const APPEND_ONLY_TABLES = ['invoice', 'credit_note', 'document_pdf'] as const;

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

function checkIdentifier(what: string, name: string): void {
  if (!IDENTIFIER.test(name)) {
    throw new RangeError(`${what} "${name}" must be a lower-case SQL identifier`);
  }
}

/** CREATE ROLE for the services (no schema, no grant: `ledgerGrantStatements` after migrating). */
export function createAppRoleStatement(role: string, password?: string): string {
  checkIdentifier('role', role);
  const login =
    password === undefined ? 'LOGIN' : `LOGIN PASSWORD '${password.replace(/'/g, "''")}'`;
  return `CREATE ROLE ${role} ${login} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`;
}

/**
 * The privileges of the services' role on one migrated ledger schema, as the owner grants them.
 * Idempotent: run after every migration (a new table is granted the same way), so no default
 * privileges are needed. Sequences: nextval (USAGE), not setval (UPDATE).
 */
export function ledgerGrantStatements(role: string, schema: string): string[] {
  checkIdentifier('role', role);
  checkIdentifier('schema', schema);
  const appendOnly = APPEND_ONLY_TABLES.map((t) => `${schema}.${t}`).join(', ');
  return [
    `GRANT USAGE ON SCHEMA ${schema} TO ${role}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${role}`,
    `REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ${appendOnly} FROM ${role}`,
    `REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ${schema}.ledger_migrations FROM ${role}`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${role}`,
    `REVOKE UPDATE ON ALL SEQUENCES IN SCHEMA ${schema} FROM ${role}`,
  ];
}

/** The role plus its privileges on a schema that is already migrated (tests, a manual setup). */
export function appRoleStatements(role: string, schema: string, password?: string): string[] {
  return [createAppRoleStatement(role, password), ...ledgerGrantStatements(role, schema)];
}

/** The user a postgres:// URL logs in as (the role to grant), checked as an identifier. */
export function roleOfUrl(url: string): string {
  let user: string;
  try {
    user = decodeURIComponent(new URL(url).username);
  } catch {
    throw new RangeError('the database URL is not a valid URL');
  }
  checkIdentifier('database user', user);
  return user;
}
