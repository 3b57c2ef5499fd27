import 'reflect-metadata';
import { loadOrExit } from '@metering/config';
import { createRootLogger } from '@metering/observability';
import { createBillingApp } from './app.factory';
import { loadBillingConfig } from './config';

async function main(): Promise<void> {
  // A bad setting: one line naming it, exit CONFIG_EXIT_CODE (libs/config).
  const config = loadOrExit('billing-api', () => loadBillingConfig());
  const logger = createRootLogger({ serviceName: 'billing-api', level: config.logLevel });
  const source = config.adminApiKeySource;
  if (source.kind === 'file') {
    logger.info(
      { path: source.path, generated: source.generated },
      source.generated
        ? `admin API key generated into ${source.path}`
        : `admin API key read from ${source.path}`,
    );
  }
  if (config.testClockStartMs !== null) {
    const start = new Date(config.testClockStartMs).toISOString();
    logger.warn(
      { testClockStart: start, offsetMs: config.testClockStartMs - Date.now() },
      `TEST CLOCK: this service's time starts at ${start} and runs at real speed (TEST_CLOCK_START); periods become closable and final invoices are issued by it. Never for real billing.`,
    );
  }
  const app = await createBillingApp(config, logger);
  await app.listen(config.port, config.host);
  logger.info(
    {
      url: `http://${config.host}:${config.port}`,
      docs: `http://${config.host}:${config.port}/docs`,
    },
    'billing-api listening',
  );
}

main().catch((error: unknown) => {
  // A configuration or startup failure: one line that says why, then a non-zero exit.
  console.error(
    `billing-api failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});
