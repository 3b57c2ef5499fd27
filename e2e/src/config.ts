import { join, resolve } from 'node:path';

/** The repository root, from e2e/dist/src. */
const REPO_ROOT = resolve(__dirname, '../../..');

export interface E2eSettings {
  /** E2E_RUN_SECONDS: how long the workloads run (default 120; the spec stays under 5 minutes). */
  readonly runSeconds: number;
  /** STACK_DIR: logs and the demo's invoices go below it. */
  readonly stackDir: string;
}

/** The acceptance test's and the demo's settings, read once. */
export function e2eSettings(env: NodeJS.ProcessEnv = process.env): E2eSettings {
  const raw = env.E2E_RUN_SECONDS ?? '120';
  const runSeconds = Number(raw);
  if (!Number.isInteger(runSeconds) || runSeconds < 30 || runSeconds > 1800) {
    throw new Error(`E2E_RUN_SECONDS: "${raw}" must be a whole number of seconds, 30 to 1800`);
  }
  return { runSeconds, stackDir: env.STACK_DIR ?? join(REPO_ROOT, '.stack') };
}
