/** The settings of the migration step (`migrate.main.ts`), read once, here. */
export interface MigrateConfig {
  /** The owner's URL: the only process that holds it. */
  readonly migrationUrl: string;
  /** What the services connect as; its user is the role granted. */
  readonly url: string;
  readonly schema: string;
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

/** The settings, or a RangeError naming every missing or invalid one. */
export function loadMigrateConfig(env: NodeJS.ProcessEnv = process.env): MigrateConfig {
  const migrationUrl = env.DATABASE_MIGRATION_URL ?? '';
  const url = env.DATABASE_URL ?? '';
  const schema = env.DATABASE_SCHEMA ?? 'public';
  const problems = [
    migrationUrl === '' ? 'DATABASE_MIGRATION_URL must be set' : null,
    url === '' ? 'DATABASE_URL must be set' : null,
    SCHEMA.test(schema) ? null : 'DATABASE_SCHEMA must be a lower-case SQL identifier',
  ].filter((p) => p !== null);
  if (problems.length > 0) throw new RangeError(problems.join('; '));
  return { migrationUrl, url, schema };
}
