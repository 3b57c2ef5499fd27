import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { HealthController } from './health.controller';
import { HealthRegistry } from './health.registry';
import { createRootLogger, type Logger } from './logger.factory';
import { MetricsController } from './metrics.controller';
import { MetricsRegistry } from './metrics.registry';
import {
  OBSERVABILITY_OPTIONS,
  ROOT_LOGGER,
  type ObservabilityModuleOptions,
} from './observability.options';
import { PinoNestLogger } from './pino-nest.logger';

/**
 * Logs, metrics and health for a service: GET /metrics, GET /livez, GET /readyz and GET /healthz
 * (the readiness view under its original name), plus injectable
 * MetricsRegistry, HealthRegistry, PinoNestLogger and the root logger (ROOT_LOGGER).
 * Global, so feature modules can register metrics and health indicators without imports.
 */
@Module({})
export class ObservabilityModule {
  static forRoot(options: ObservabilityModuleOptions): DynamicModule {
    const providers: Provider[] = [
      { provide: OBSERVABILITY_OPTIONS, useValue: options },
      {
        provide: ROOT_LOGGER,
        useFactory: (): Logger =>
          options.logger ??
          createRootLogger({ serviceName: options.serviceName, level: options.logLevel }),
      },
      {
        provide: MetricsRegistry,
        useFactory: (): MetricsRegistry =>
          options.metrics ??
          new MetricsRegistry({
            serviceName: options.serviceName,
            collectDefaultMetrics: options.collectDefaultMetrics,
          }),
      },
      {
        provide: HealthRegistry,
        useFactory: (): HealthRegistry =>
          new HealthRegistry({
            timeoutMs: options.healthCheckTimeoutMs,
            cacheMs: options.healthCacheMs,
          }),
      },
      {
        provide: PinoNestLogger,
        useFactory: (root: Logger): PinoNestLogger => new PinoNestLogger(root),
        inject: [ROOT_LOGGER],
      },
    ];
    return {
      module: ObservabilityModule,
      global: true,
      controllers: [MetricsController, HealthController],
      providers,
      exports: [
        OBSERVABILITY_OPTIONS,
        ROOT_LOGGER,
        MetricsRegistry,
        HealthRegistry,
        PinoNestLogger,
      ],
    };
  }
}
