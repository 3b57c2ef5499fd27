import { z } from 'zod';
import { boolean, integer } from './parsers';

/**
 * The ledger's PostgreSQL settings, the same in rating and billing-api: the service's URL, the
 * schema, the pool size, and the owner's URL the migrations run over (then closed; unset: they
 * run over DATABASE_URL), and whether they run at start.
 */
export const DATABASE_SETTINGS = {
  DATABASE_URL: z.string().min(1).default('postgres://postgres@127.0.0.1:5432/metering'),
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'must be a lower-case SQL identifier')
    .default('public'),
  DATABASE_POOL_SIZE: integer(1).default(10),
  DATABASE_MIGRATION_URL: z.string().min(1).optional(),
  MIGRATE_ON_START: boolean().default(true),
};

export interface DatabaseConfig {
  url: string;
  /** null: migrations run over `url`. */
  migrationUrl: string | null;
  schema: string;
  poolSize: number;
}

type DatabaseEnv = z.output<z.ZodObject<typeof DATABASE_SETTINGS>>;

/** The database part of a service's configuration, from the parsed DATABASE_SETTINGS. */
export function databaseConfig(e: DatabaseEnv): DatabaseConfig {
  return {
    url: e.DATABASE_URL,
    migrationUrl: e.DATABASE_MIGRATION_URL ?? null,
    schema: e.DATABASE_SCHEMA,
    poolSize: e.DATABASE_POOL_SIZE,
  };
}
