import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadOrExit } from '@metering/config';
import { createRootLogger, PinoNestLogger } from '@metering/observability';
import { AppModule } from './app.module';
import { ApplicationEnd } from './application-end';
import { loadRatingConfig } from './config';
import { applyHeapGrowth } from './heap-growth';

async function main(): Promise<void> {
  // A bad setting: one line naming it, exit CONFIG_EXIT_CODE (libs/config).
  const config = loadOrExit('rating', () => loadRatingConfig());
  applyHeapGrowth(config.heapGrowthPercent);
  const logger = createRootLogger({ serviceName: 'rating', level: config.logLevel });
  const app = await NestFactory.create(AppModule.forRoot(config, { logger }), {
    logger: new PinoNestLogger(logger),
    // A part that cannot connect (ledger, Kafka): the one line below and exit 1, not an abort.
    abortOnError: false,
  });
  // SIGTERM/SIGINT: RatingService stops the consumer, then the rest, the ledger last.
  app.enableShutdownHooks();
  // A consumer that stopped for good: the same stop order, then exit 1 for the supervisor to
  // start rating again (it resumes from the positions in the ledger).
  app.get(ApplicationEnd).bind(async () => {
    process.exitCode = 1;
    try {
      await app.close();
    } finally {
      process.exit();
    }
  });
  await app.listen(config.port, config.host);
  logger.info({ url: `http://${config.host}:${config.port}` }, 'rating listening');
}

main().catch((error: unknown) => {
  // A configuration or startup failure: one line that says why, then a non-zero exit.
  console.error(
    `rating failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});
