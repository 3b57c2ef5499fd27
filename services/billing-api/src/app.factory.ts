import { NestFactory } from '@nestjs/core';
import { type NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { type NextFunction, type Request, type Response } from 'express';
import {
  createLogger,
  type Logger,
  MetricsRegistry,
  PinoNestLogger,
} from '@metering/observability';
import { AppModule } from './app.module';
import { httpMetrics } from './common/http-metrics.middleware';
import { verifyUtf8Body } from './common/request-body';
import { type BillingConfig } from './config';
import { buildOpenApiDocument } from './openapi';
import { portalStatic } from './portal/portal-static';

/**
 * The HTTP application, configured but not listening: main.ts listens on the configured port,
 * tests on 127.0.0.1:0. OpenAPI at /docs (UI) and /docs-json.
 */
export async function createBillingApp(
  config: BillingConfig,
  logger: Logger,
): Promise<NestExpressApplication> {
  const metrics = new MetricsRegistry({ serviceName: 'billing-api' });
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config, logger, metrics),
    {
      logger: new PinoNestLogger(logger),
      bodyParser: false,
    },
  );
  app.disable('x-powered-by');
  // JSON answers carry text from samples (tenant ids in GET /v1/unbilled-usage): <, > and & go
  // out as \u003c, \u003e, \u0026, so no answer can be read as markup if sniffed or embedded.
  app.set('json escape', true);
  // Who the client is behind an ingress (the sign-in limiter's key, the cookie's Secure flag);
  // nobody is believed unless TRUSTED_PROXIES says so (portal/trusted-proxies.ts).
  app.set('trust proxy', config.portal.trustedProxies);
  app.use(httpMetrics(metrics, createLogger('HttpRequests', { parent: logger })));
  app.useBodyParser('json', {
    limit: '256kb',
    verify: verifyUtf8Body,
    // PATCH /v1/tenants/:id takes RFC 7396 merge patches under their own media type too.
    type: ['application/json', 'application/merge-patch+json'],
  });
  // The tenant portal's web app (services/portal/dist) on the same origin as the API it calls.
  app.use('/portal', portalStatic(config.portal.dir));
  app.use((request: Request, response: Response, next: NextFunction) => {
    if (request.path === '/' && (request.method === 'GET' || request.method === 'HEAD')) {
      response.redirect(302, '/portal/');
      return;
    }
    next();
  });
  app.enableShutdownHooks();

  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  return app;
}
