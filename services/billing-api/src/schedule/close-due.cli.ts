import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { createRootLogger } from '@metering/observability';
import { AppModule } from '../app.module';
import { loadBillingConfig } from '../config';
import { ScheduledCloseService } from './scheduled-close.service';

/**
 * `node dist/src/schedule/close-due.cli.js`: one run of the scheduled close, then exit — what the
 * k8s CronJob runs where the server's own schedule is off (SCHEDULED_CLOSE=off). Prints the run's
 * report as JSON. Exit 0: done (or another instance holds the lock: nothing to do); 1: a month
 * failed to close (the report says why); 2: configuration or database unreachable.
 */
async function main(): Promise<number> {
  const loaded = loadBillingConfig(undefined, { needsAdminKey: false });
  const config = {
    ...loaded,
    unbilled: { ...loaded.unbilled, refreshMs: 0 },
    automation: { ...loaded.automation, background: false },
  };
  const logger = createRootLogger({ serviceName: 'billing-close-due', level: config.logLevel });
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config, logger), {
    logger: false,
  });
  try {
    const report = await app.get(ScheduledCloseService).runOnce();
    console.log(JSON.stringify(report));
    return Object.keys(report.failed).length > 0 ? 1 : 0;
  } finally {
    await app.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`close-due: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
