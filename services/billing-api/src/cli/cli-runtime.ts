import { hostname, userInfo } from 'node:os';
import type { INestApplicationContext, Type } from '@nestjs/common';
import { EXIT, type ExitCode } from './cli-args';
import { type ProgressStream } from './progress.reporter';

/** Where a command writes: its result on `out`, progress and messages on `err`. */
export interface CliIo {
  readonly out: { write(text: string): unknown };
  readonly err: ProgressStream;
}

/**
 * What the commands share: the output streams, and billing-api's module (the services the HTTP
 * API uses), opened on first use — a usage error never needs the database.
 */
export class CliRuntime {
  private app: INestApplicationContext | null = null;
  /** What the command ends with when it returns (a command that throws is mapped in main). */
  exitCode: ExitCode = EXIT.ok;

  constructor(readonly io: CliIo) {}

  /** A service of billing-api's module, loaded on first use (help and usage errors stay fast). */
  async get<T>(load: () => Promise<Type<T>>): Promise<T> {
    const app = await this.context();
    return app.get(await load());
  }

  private async context(): Promise<INestApplicationContext> {
    if (this.app !== null) return this.app;
    const [{ NestFactory }, { createRootLogger }, { AppModule }, { loadBillingConfig }] =
      await Promise.all([
        import('@nestjs/core'),
        import('@metering/observability'),
        import('../app.module.js'),
        import('../config.js'),
      ]);
    const loaded = loadBillingConfig(undefined, { needsAdminKey: false });
    // A one-off command: the server's periodic gauges would only cost queries here, and its
    // background work (event relay, webhook deliveries, scheduled close) is the server's.
    const config = {
      ...loaded,
      unbilled: { ...loaded.unbilled, refreshMs: 0 },
      automation: { ...loaded.automation, background: false },
    };
    const logger = createRootLogger({ serviceName: 'billing-cli', level: 'warn' });
    if (config.testClockStartMs !== null) {
      this.io.err.write(
        `billing: TEST CLOCK: time starts at ${new Date(config.testClockStartMs).toISOString()} (TEST_CLOCK_START); never for real billing\n`,
      );
    }
    this.app = await NestFactory.createApplicationContext(AppModule.forRoot(config, logger), {
      logger: false,
    });
    return this.app;
  }

  /** One JSON document on stdout (`--json`). */
  json(value: unknown): void {
    this.io.out.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  text(lines: readonly string[]): void {
    if (lines.length > 0) this.io.out.write(`${lines.join('\n')}\n`);
  }

  async close(): Promise<void> {
    const app = this.app;
    this.app = null;
    await app?.close();
  }
}

/** Who ran a CLI close, as `billing_close_run.instance` keeps it: user@host:pid. */
export function cliInstance(): string {
  let user = 'uid' + String(process.getuid?.() ?? '?');
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (a container's numeric user): the uid says enough.
  }
  return `${user}@${hostname()}:${process.pid}`;
}
