import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../src/workspaces';

export interface ComposeResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `docker-compose config` on a file, with exactly the given variables: no inherited
 * environment beyond PATH and no .env file, so the result does not depend on the machine.
 */
export function composeConfig(file: string, variables: Record<string, string>): ComposeResult {
  const dir = mkdtempSync(join(tmpdir(), 'compose-config-'));
  const envFile = join(dir, 'empty.env');
  writeFileSync(envFile, '');
  const result = spawnSync(
    'docker-compose',
    ['--project-directory', REPO_ROOT, '--env-file', envFile, '-f', file, 'config'],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...variables },
      timeout: 60_000,
    },
  );
  rmSync(dir, { recursive: true, force: true });
  if (result.error !== undefined) {
    throw new Error(
      `docker-compose could not run (${result.error.message}); infra/local/deps.sh installs it (apt package docker-compose)`,
    );
  }
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string | number | null>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; interval?: string; timeout?: string; retries?: number };
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  user?: string;
}

export function parseComposeConfig(stdout: string): Record<string, ComposeService> {
  const doc = parse(stdout) as { services?: Record<string, ComposeService> };
  return doc.services ?? {};
}
