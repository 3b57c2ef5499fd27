import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { createRootLogger, PinoNestLogger } from '@metering/observability';
import { AppModule } from './app.module';
import { ConfigError, type DockerCollectorConfig, loadConfig } from './config';

async function bootstrap(): Promise<void> {
  let config: DockerCollectorConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Fail fast, naming the setting; no stack trace for a configuration mistake.
    process.stderr.write(`docker-collector: invalid configuration: ${error.message}\n`);
    process.exit(2);
  }
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
