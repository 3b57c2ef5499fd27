import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import {
  ConfigError,
  DATABASE_SETTINGS,
  type DatabaseConfig,
  databaseConfig,
  durationMs,
  type Env as Environment,
  integer,
  listenHost,
  listenPort,
  type LogLevel,
  logLevel,
  nodeEnv,
  parseEnv,
  presentEnv,
} from '@metering/config';
import { secretWeakness } from '@metering/observability';
import { isValidTimeZone } from '@metering/pricing';
import { type AutomationConfig, loadAutomationConfig } from './automation.config';
import { type SellerDetails } from './invoices/domain/legal.model';
import { loadInvoiceAssets, type InvoiceAssets } from './invoices/invoice-assets';
import { loadPortalConfig, type PortalConfig } from './portal/portal.config';

/** services/billing-api: this file runs as dist/src/config.js. */
const SERVICE_DIR = resolve(__dirname, '../..');

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Every setting of billing-api, read from the environment once, at boot, and validated. A
 * missing or invalid setting stops the service with a message that names it.
 */
const Env = z.object({
  HOST: listenHost(),
  PORT: listenPort(8080),
  LOG_LEVEL: logLevel(),
  /**
   * The ledger (libs/config): DATABASE_URL, _SCHEMA, _POOL_SIZE, MIGRATE_ON_START and the
   * owner's DATABASE_MIGRATION_URL, used only by the migration step at start, which grants the
   * role of DATABASE_URL its privileges (docs/operations.md, "Database roles").
   */
  ...DATABASE_SETTINGS,
  /** The admin key; when unset it is read from (or generated into) ADMIN_API_KEY_FILE. */
  ADMIN_API_KEY: z.string().min(16).optional(),
  ADMIN_API_KEY_FILE: z.string().min(1).default(resolve(SERVICE_DIR, '../../.stack/admin-api-key')),
  /** Shown on invoices (PDF header). */
  PROVIDER_NAME: z.string().min(1).default('Metering Cloud'),
  /** A period can be closed only this long after its end (late data still arrives). */
  CLOSE_GRACE_MS: durationMs(0).default(172_800_000),
  /** Closed months re-priced for late usage (adjustments) on the next invoices. */
  ADJUSTMENT_LOOKBACK_MONTHS: integer(0, 120).default(12),
  /** Requests per client address per window. */
  RATE_LIMIT: integer(1).default(600),
  RATE_LIMIT_WINDOW_MS: durationMs(1).default(60_000),
  /** Tenants per batch when closing or exporting a period. */
  BATCH_SIZE: integer(1, 10_000).default(100),
  /** Invoices computed concurrently within a batch. */
  CONCURRENCY: integer(1, 64).default(4),
  /**
   * The zone of the months of unregistered tenants' usage (GET /v1/unbilled-usage and the
   * unbilled gauges): rating's DEFAULT_TIME_ZONE, the zone it buckets them in.
   */
  UNBILLED_TIME_ZONE: z
    .string()
    .refine((v) => isValidTimeZone(v), { message: 'must be an IANA time zone such as "UTC"' })
    .default('UTC'),
  /** How often the unbilled gauges are recomputed from the ledger; 0 turns them off. */
  UNBILLED_REFRESH_MS: durationMs(0, 86_400_000).default(60_000),
  /** Bound on the database time of one unbilled-usage query (and of one gauge refresh). */
  UNBILLED_QUERY_TIMEOUT_MS: durationMs(100, 600_000).default(10_000),
  /**
   * A test clock: the service's now starts at this instant (ISO 8601 with a zone) and runs at
   * real speed, so a month can be closed before it ends by the wall clock. Refused in production.
   */
  TEST_CLOCK_START: z
    .string()
    .refine((v) => ISO_INSTANT.test(v) && Number.isFinite(Date.parse(v)), {
      message: 'must be an ISO 8601 instant with a zone, e.g. 2026-12-03T00:00:00Z',
    })
    .optional(),
  NODE_ENV: nodeEnv(),
  // The seller on every invoice (invoice-assets.ts validates them together; README, Settings).
  SELLER_LEGAL_NAME: z.string().optional(),
  SELLER_ADDRESS: z.string().optional(),
  SELLER_TAX_ID: z.string().optional(),
  SELLER_EMAIL: z.string().optional(),
  SELLER_BANK_NAME: z.string().optional(),
  SELLER_IBAN: z.string().optional(),
  SELLER_BIC: z.string().optional(),
  SELLER_LOGO_FILE: z.string().optional(),
  INVOICE_FONT_FILE: z.string().min(1).default('/usr/share/fonts/truetype/wqy/wqy-microhei.ttc'),
  /** The font's PostScript name inside a collection (.ttc); ignored for a single font file. */
  INVOICE_FONT_NAME: z.string().min(1).default('WenQuanYiMicroHei'),
});

export interface BillingConfig {
  readonly host: string;
  readonly port: number;
  readonly logLevel: LogLevel;
  readonly database: DatabaseConfig;
  readonly adminApiKey: string;
  /** Where the admin key came from: the environment, or a file (perhaps just generated). */
  readonly adminApiKeySource: { kind: 'env' } | { kind: 'file'; path: string; generated: boolean };
  readonly providerName: string;
  readonly closeGraceMs: number;
  readonly adjustmentLookbackMonths: number;
  readonly rateLimit: { limit: number; windowMs: number };
  readonly batchSize: number;
  readonly concurrency: number;
  readonly migrateOnStart: boolean;
  /** Usage rated for tenant ids that are not registered: where to look and how often. */
  readonly unbilled: { timeZone: string; refreshMs: number; queryTimeoutMs: number };
  /** TEST_CLOCK_START: where the service's clock starts (null: the system clock). */
  readonly testClockStartMs: number | null;
  /** Invoice events, webhooks, the scheduled close (automation.config.ts). */
  readonly automation: AutomationConfig;
  /** The seller, the PDF font and logo (read once, here). */
  readonly invoice: InvoiceAssets;
  /** The tenant portal: sessions, links, the web app's directory (portal/portal.config.ts). */
  readonly portal: PortalConfig;
}

export type { InvoiceAssets, SellerDetails };

/** Thrown at boot for a missing or invalid setting; the message names the variable (libs/config). */
export { ConfigError };

const SERVICE = { service: 'billing-api' } as const;

export interface LoadOptions {
  /** The CLI needs no admin key (it reads an existing ADMIN_API_KEY_FILE, never creates one); the HTTP server does. */
  readonly needsAdminKey?: boolean;
}

export function loadBillingConfig(
  env: Environment = process.env,
  options: LoadOptions = {},
): BillingConfig {
  // Blank values count as unset here and in the parts read below (automation, portal).
  const present = presentEnv(env);
  const e = parseEnv(Env, present, SERVICE);
  if (e.TEST_CLOCK_START !== undefined && e.NODE_ENV === 'production') {
    throw new ConfigError(
      'TEST_CLOCK_START',
      'a test clock is refused when NODE_ENV=production',
      SERVICE,
    );
  }
  const admin =
    e.ADMIN_API_KEY !== undefined
      ? { key: e.ADMIN_API_KEY, source: { kind: 'env' } as const }
      : options.needsAdminKey === false
        ? { key: readableKey(resolve(e.ADMIN_API_KEY_FILE)), source: { kind: 'env' } as const }
        : adminKeyFromFile(resolve(e.ADMIN_API_KEY_FILE));
  if (e.NODE_ENV === 'production') {
    // Placeholders (the k8s base ships one), short or low-entropy keys: see secretWeakness.
    const weakness = secretWeakness(admin.key);
    if (weakness !== null) {
      const setting = admin.source.kind === 'file' ? 'ADMIN_API_KEY_FILE' : 'ADMIN_API_KEY';
      throw new ConfigError(
        setting,
        `refused with NODE_ENV=production: the key ${weakness}`,
        SERVICE,
      );
    }
  }
  let invoice: InvoiceAssets;
  try {
    invoice = loadInvoiceAssets(e, e.NODE_ENV === 'production');
  } catch (error) {
    // "SELLER_IBAN: …" or "SELLER_LEGAL_NAME, SELLER_ADDRESS: required …": the settings first.
    const message = (error as Error).message;
    const colon = message.indexOf(': ');
    throw colon > 0
      ? new ConfigError(message.slice(0, colon), message.slice(colon + 2), SERVICE)
      : new ConfigError('invoice assets', message, SERVICE);
  }
  return {
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    database: databaseConfig(e),
    adminApiKey: admin.key,
    adminApiKeySource: admin.source,
    providerName: e.PROVIDER_NAME,
    closeGraceMs: e.CLOSE_GRACE_MS,
    adjustmentLookbackMonths: e.ADJUSTMENT_LOOKBACK_MONTHS,
    rateLimit: { limit: e.RATE_LIMIT, windowMs: e.RATE_LIMIT_WINDOW_MS },
    batchSize: e.BATCH_SIZE,
    concurrency: e.CONCURRENCY,
    migrateOnStart: e.MIGRATE_ON_START,
    unbilled: {
      timeZone: e.UNBILLED_TIME_ZONE,
      refreshMs: e.UNBILLED_REFRESH_MS,
      queryTimeoutMs: e.UNBILLED_QUERY_TIMEOUT_MS,
    },
    testClockStartMs: e.TEST_CLOCK_START === undefined ? null : Date.parse(e.TEST_CLOCK_START),
    automation: loadAutomationConfig(present, e.NODE_ENV === 'production'),
    invoice,
    portal: loadPortalConfig(present),
  };
}

/**
 * The CLI's key: the server's where this user can read it (so the CLI's list cursors are the
 * API's), else a throwaway; never creates the file nor changes its mode.
 */
function readableKey(path: string): string {
  try {
    const key = readFileSync(path, 'utf8').trim();
    if (key.length >= 16) return key;
  } catch {
    // Not there or not readable: the CLI needs no key of its own.
  }
  return randomBytes(32).toString('base64url');
}

/**
 * The admin key kept in a file (mode 600). A missing file gets a fresh 256-bit key, written
 * exclusively so two processes starting together cannot overwrite each other's key.
 */
function adminKeyFromFile(path: string): {
  key: string;
  source: { kind: 'file'; path: string; generated: boolean };
} {
  let generated = false;
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    try {
      writeFileSync(path, `mk_admin_${randomBytes(32).toString('base64url')}\n`, {
        mode: 0o600,
        flag: 'wx',
      });
      generated = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new ConfigError(
          'ADMIN_API_KEY_FILE',
          `cannot write ${path}: ${(error as Error).message}`,
          SERVICE,
        );
      }
    }
  }
  chmodSync(path, 0o600);
  const key = readFileSync(path, 'utf8').trim();
  if (key.length < 16) {
    throw new ConfigError(
      'ADMIN_API_KEY_FILE',
      `${path} holds no key of at least 16 characters`,
      SERVICE,
    );
  }
  return { key, source: { kind: 'file', path, generated } };
}
