import { z } from 'zod';
import { durationMs } from './parsers';

/**
 * The settings both collectors share: the host's name on every sample, the tenant of what
 * carries none, the host's /proc, and how long shutdown keeps sending spooled samples.
 */
export const collectorSettings = (hostName: string) => ({
  HOST_NAME: z.string().trim().min(1).default(hostName),
  DEFAULT_TENANT: z.string().trim().min(1, 'must not be empty').default('default'),
  HOST_PROC: z.string().trim().min(1).default('/proc'),
  SHUTDOWN_FLUSH_MS: durationMs(0, 600_000).default(10_000),
});
