import { type INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { PROBLEM_CONTENT_TYPE } from './common/error.filter';
import { IDEMPOTENCY_HEADER } from './common/idempotency-key';
import { PORTAL_COOKIE } from './portal/portal-cookie';

/** Operations without an explicit operationId get this prefix; a spec refuses them on /v1. */
export const UNNAMED_OPERATION = 'unnamed_';

const PROBLEM_MEDIA_TYPE = PROBLEM_CONTENT_TYPE.split(';')[0] ?? 'application/problem+json';
const PROBLEM_SCHEMA = { schema: { $ref: '#/components/schemas/ErrorResponseDto' } };

/** The probes and the scrape come from libs/observability: named here. */
const LIBRARY_OPERATIONS: Readonly<Record<string, string>> = {
  'HealthController.live': 'livez',
  'HealthController.ready': 'readyz',
  'HealthController.check': 'healthz',
  'MetricsController.scrape': 'scrapeMetrics',
};

/**
 * The OpenAPI document of the API, as served at /docs-json and checked in as
 * services/billing-api/openapi.json (regenerate: `npm run openapi -w services/billing-api`;
 * test/openapi-document.spec.ts fails when the two differ). Every /v1 operation names its own
 * operationId, so ids survive renaming a controller or a method. Error answers are documented
 * as application/problem+json, and every POST takes an Idempotency-Key.
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Metering billing API')
      .setDescription(
        'Tenants, API keys, price plans, usage and monthly invoices. Amounts and quantities are ' +
          'decimal strings. Authorization: Bearer <admin key or tenant key>, or (the tenant ' +
          `portal) the ${PORTAL_COOKIE} session cookie from POST /v1/portal/sessions, with ` +
          'X-CSRF-Token on every write. Errors are RFC 9457 ' +
          'problems (application/problem+json: type, title, status, detail, instance) with our ' +
          'stable `code` and the offending `field` (and `errors[]`) as extension members. Lists ' +
          'are paged: `limit` (1-200, default 50) and the opaque `cursor` from `nextCursor`. ' +
          'Every POST takes an Idempotency-Key: a retry replays the first answer.',
      )
      .setVersion('1')
      .addBearerAuth()
      .addCookieAuth(PORTAL_COOKIE)
      .build(),
    {
      operationIdFactory: (controllerKey: string, methodKey: string) =>
        LIBRARY_OPERATIONS[`${controllerKey}.${methodKey}`] ??
        `${UNNAMED_OPERATION}${controllerKey}_${methodKey}`,
    },
  );
  for (const path of Object.values(document.paths)) {
    for (const [method, operation] of Object.entries(path) as [string, unknown][]) {
      if (typeof operation !== 'object' || operation === null || !('responses' in operation)) {
        continue;
      }
      const op = operation as {
        responses: Record<string, { description?: string; content?: Record<string, unknown> }>;
        parameters?: unknown[];
      };
      for (const [status, response] of Object.entries(op.responses)) {
        // Whatever a route produces when it succeeds (CSV, PDF), its errors are problems.
        if (Number(status) >= 400 && response.content !== undefined) {
          response.content = { [PROBLEM_MEDIA_TYPE]: PROBLEM_SCHEMA };
        }
      }
      if (method === 'post') {
        op.parameters = [
          ...(op.parameters ?? []),
          {
            name: IDEMPOTENCY_HEADER,
            in: 'header',
            required: false,
            description:
              'Makes a retry safe: the first answer under the key is stored for 24 h and replayed ' +
              '(Idempotent-Replayed: true); another request under it is a 422 ' +
              'IDEMPOTENCY_KEY_REUSED, a duplicate while the first runs a 409 IDEMPOTENCY_KEY_IN_USE',
            schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[ -~]+$' },
          },
        ];
        op.responses['409'] ??= {
          description: 'IDEMPOTENCY_KEY_IN_USE',
          content: {
            'application/problem+json': {
              schema: { $ref: '#/components/schemas/ErrorResponseDto' },
            },
          },
        };
        op.responses['422'] ??= {
          description: 'IDEMPOTENCY_KEY_REUSED',
          content: {
            'application/problem+json': {
              schema: { $ref: '#/components/schemas/ErrorResponseDto' },
            },
          },
        };
      }
    }
  }
  return document;
}

/** The checked-in form: two-space JSON and a final newline. */
export function serialiseOpenApi(document: OpenAPIObject): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
