import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { createRootLogger, PinoNestLogger } from '@metering/observability';
import { AppModule } from './app.module';
import { ConfigError, loadConfig, type VmCollectorConfig } from './config';

async function bootstrap(): Promise<void> {
  let config: VmCollectorConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Fail fast, naming the setting; no stack trace for a configuration mistake.
    process.stderr.write(`vm-collector: invalid configuration: ${error.message}\n`);
    process.exit(2);
  }
  const logger = createRootLogger({ serviceName: 'vm-collector', level: config.logLevel });
  const app = await NestFactory.create(AppModule.forRoot(config, { logger }), {
    bufferLogs: true,
  });
  app.useLogger(app.get(PinoNestLogger));
  // SIGTERM/SIGINT: stop polling, flush the spool to Kafka (bounded), close libvirt.
  app.enableShutdownHooks();
  await app.listen(config.http.port, config.http.host);
  logger.info({ host: config.http.host, port: config.http.port }, 'vm-collector listening');
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(
    `vm-collector: failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
