import { resolve } from 'node:path';
import { z } from 'zod';
import {
  ConfigError,
  durationMs,
  type Env as Environment,
  integer,
  parseEnv,
} from '@metering/config';
import { parseTrustedProxies } from './trusted-proxies';

/** services/billing-api: this file runs as dist/src/portal/portal.config.js. */
const SERVICE_DIR = resolve(__dirname, '../../..');

const ms = (min: number, max: number, fallback: number) => durationMs(min, max).default(fallback);
const SERVICE = { service: 'billing-api' } as const;

/**
 * The tenant portal's settings (docs/adr/0012-tenant-portal.md), read by config.ts with the
 * rest, once, at boot.
 */
const Env = z.object({
  /** The built web app (services/portal, `npm run build -w @metering/portal`), served at /portal/. */
  PORTAL_DIR: z.string().min(1).default(resolve(SERVICE_DIR, '../portal/dist')),
  /** A session ends this long after its last request (sliding). */
  PORTAL_SESSION_IDLE_MS: ms(1_000, 7 * 86_400_000, 1_800_000),
  /** …and at the latest this long after the sign-in, however busy. */
  PORTAL_SESSION_MAX_MS: ms(1_000, 30 * 86_400_000, 43_200_000),
  /** `Secure` on the cookie even when the request did not come over TLS (behind a TLS proxy). */
  PORTAL_COOKIE_SECURE: z.enum(['true', 'false']).default('false'),
  /** How long an admin's read-only link can be used (once). */
  PORTAL_LINK_TTL_MS: ms(1_000, 86_400_000, 300_000),
  /** Failed sign-ins a client address may make per window before 429. */
  PORTAL_SIGNIN_FAILURES: integer(1, 1_000_000).default(10),
  PORTAL_SIGNIN_WINDOW_MS: ms(1_000, 86_400_000, 900_000),
  /** How often expired sessions and links are deleted. */
  PORTAL_PURGE_INTERVAL_MS: ms(1_000, 86_400_000, 600_000),
  /** Proxies believed about the client's address and protocol (trusted-proxies.ts). */
  TRUSTED_PROXIES: z.string().optional(),
});

export interface PortalConfig {
  readonly dir: string;
  readonly sessionIdleMs: number;
  readonly sessionMaxMs: number;
  readonly cookieSecure: boolean;
  readonly linkTtlMs: number;
  readonly signIn: { readonly failures: number; readonly windowMs: number };
  readonly purgeIntervalMs: number;
  /** Express's `trust proxy`: false (the socket's peer is the client), a hop count or addresses. */
  readonly trustedProxies: false | number | readonly string[];
}

export function loadPortalConfig(env: Environment): PortalConfig {
  const e = parseEnv(Env, env, SERVICE);
  if (e.PORTAL_SESSION_IDLE_MS > e.PORTAL_SESSION_MAX_MS) {
    throw new ConfigError(
      'PORTAL_SESSION_IDLE_MS',
      'must not exceed PORTAL_SESSION_MAX_MS',
      SERVICE,
    );
  }
  let trustedProxies: false | number | string[];
  try {
    trustedProxies = parseTrustedProxies(e.TRUSTED_PROXIES);
  } catch (error) {
    throw new ConfigError('TRUSTED_PROXIES', (error as Error).message, SERVICE);
  }
  return {
    dir: resolve(e.PORTAL_DIR),
    sessionIdleMs: e.PORTAL_SESSION_IDLE_MS,
    sessionMaxMs: e.PORTAL_SESSION_MAX_MS,
    cookieSecure: e.PORTAL_COOKIE_SECURE === 'true',
    linkTtlMs: e.PORTAL_LINK_TTL_MS,
    signIn: { failures: e.PORTAL_SIGNIN_FAILURES, windowMs: e.PORTAL_SIGNIN_WINDOW_MS },
    purgeIntervalMs: e.PORTAL_PURGE_INTERVAL_MS,
    trustedProxies,
  };
}
