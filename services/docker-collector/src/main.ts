import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadOrExit } from '@metering/config';
import { createRootLogger, PinoNestLogger } from '@metering/observability';
import { AppModule } from './app.module';
import { loadConfig } from './config';

async function bootstrap(): Promise<void> {
  // A bad setting: one line naming it, exit CONFIG_EXIT_CODE (libs/config).
  const config = loadOrExit('docker-collector', () => loadConfig());
  const logger = createRootLogger({ serviceName: 'docker-collector', level: config.logLevel });
  const app = await NestFactory.create(AppModule.forRoot(config, { logger }), {
    bufferLogs: true,
  });
  app.useLogger(app.get(PinoNestLogger));
  // SIGTERM/SIGINT: stop following containers, flush samples to Kafka (bounded).
  app.enableShutdownHooks();
  await app.listen(config.http.port, config.http.host);
  logger.info({ host: config.http.host, port: config.http.port }, 'docker-collector listening');
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(
    `docker-collector: failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
