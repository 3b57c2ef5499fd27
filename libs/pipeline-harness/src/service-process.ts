// The pipeline's processes: a compiled service spawned on its port with its log file, waited for
// until /healthz answers, stopped with SIGTERM then SIGKILL; and infra/local/prometheus.sh run
// for a pipeline's own Prometheus.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { appPostgresUrl, ensureAppRole, localInfra, waitFor } from '@metering/testing';

/** The repository root, from libs/pipeline-harness/dist/src. */
export const REPO_ROOT = resolve(__dirname, '../../../..');

export type ServiceName = 'billing-api' | 'rating' | 'docker-collector' | 'vm-collector';

export interface ServiceLaunch {
  name: ServiceName;
  port: number;
  /** Ledger schema the service is given (DATABASE_SCHEMA). */
  schema: string;
  logFile: string;
  nodeArgs: readonly string[];
  env: Record<string, string>;
}

/** Starts a compiled service and returns its process once its /healthz answers 200. */
export async function spawnService(launch: ServiceLaunch): Promise<ChildProcess> {
  const { name, logFile } = launch;
  const dir = join(REPO_ROOT, 'services', name);
  const main = join(dir, 'dist', 'src', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx tsc -b)`);
  mkdirSync(join(logFile, '..'), { recursive: true });
  await ensureAppRole();
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, ['--enable-source-maps', ...launch.nodeArgs, main], {
    cwd: dir,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      HTTP_HOST: '127.0.0.1',
      PORT: String(launch.port),
      LOG_LEVEL: 'info',
      // The app role, as in production; the owner only for the migration step (it grants).
      DATABASE_URL: appPostgresUrl(),
      DATABASE_MIGRATION_URL: localInfra.postgresUrl,
      DATABASE_SCHEMA: launch.schema,
      ...launch.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

/** A started service that exited while nobody was stopping it, with the last lines it logged. */
export interface UnexpectedExit {
  readonly name: ServiceName;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly logFile: string;
  readonly tail: string;
}

/** How much of a log an exit report quotes. */
const TAIL_LINES = 15;

/** The last lines of `logFile` ('' when it cannot be read). */
export function logTail(logFile: string, lines = TAIL_LINES): string {
  if (!(lines > 0)) return '';
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Calls `report` when `child` exits (or has exited) unless `expected()` says it was being stopped
 * or killed on purpose: once its output is closed, and a moment later, so that what it wrote last
 * has reached its log file.
 */
export function watchExit(
  name: ServiceName,
  child: ChildProcess,
  logFile: string,
  expected: () => boolean,
  report: (exit: UnexpectedExit) => void,
): void {
  const closed = (code: number | null, signal: NodeJS.Signals | null): void => {
    if (expected()) return;
    setTimeout(() => {
      if (!expected()) report({ name, code, signal, logFile, tail: logTail(logFile) });
    }, 100).unref();
  };
  if (child.exitCode !== null || child.signalCode !== null)
    closed(child.exitCode, child.signalCode);
  else child.once('close', closed);
}

/** What an unexpected exit says, for an error and for the test's output. */
export function describeExit(exit: UnexpectedExit): string {
  const how = exit.signal === null ? `code ${exit.code}` : `signal ${exit.signal}`;
  return `${exit.name} exited while running (${how}); the end of ${exit.logFile}:\n${exit.tail}`;
}

/** Resolves once `child` answers 200 on /healthz at `url`; an early exit says so, with its log. */
export async function waitHealthy(
  name: ServiceName,
  child: ChildProcess,
  baseUrl: string,
  logFile: string,
): Promise<void> {
  const url = `${baseUrl}/healthz`;
  await waitFor(
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        const tail = logTail(logFile);
        throw new Error(
          `${name} exited (${child.exitCode ?? child.signalCode}); ${logFile}:\n${tail}`,
        );
      }
      const response = await fetch(url);
      return response.ok;
    },
    {
      timeoutMs: 60_000,
      intervalMs: 250,
      description: `${name} healthy at ${url} (log ${logFile})`,
    },
  ).catch((error: unknown) => {
    // An early exit is the real cause; say it rather than "timed out".
    if (child.exitCode !== null)
      throw new Error(`${name} did not start; see ${logFile}`, { cause: error });
    throw error;
  });
}

/** SIGTERM, then SIGKILL after 15 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** infra/local/prometheus.sh `action` with its state under `stackDir`; throws when it fails. */
export function runPrometheusScript(
  action: 'start' | 'stop',
  stackDir: string,
  port: number,
  env: Record<string, string> = {},
): void {
  const r = spawnSync('bash', [join(REPO_ROOT, 'infra', 'local', 'prometheus.sh'), action], {
    env: {
      ...process.env,
      STACK_DIR: stackDir,
      PROMETHEUS_PORT: String(port),
      READY_TIMEOUT: '60',
      ...env,
    },
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status !== 0) {
    throw new Error(`prometheus.sh ${action} failed (${r.status}): ${r.stderr} ${r.stdout}`);
  }
}
