import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createRootLogger } from '@metering/observability';
import { createBillingApp } from '../app.factory';
import { loadBillingConfig } from '../config';
import { buildOpenApiDocument, serialiseOpenApi } from '../openapi';

/**
 * Writes the OpenAPI document to services/billing-api/openapi.json (or checks it with
 * `--check`). The app is built, never started: no database is opened.
 */
export const OPENAPI_PATH = resolve(__dirname, '../../../openapi.json');

export async function generateOpenApi(): Promise<string> {
  const config = loadBillingConfig({
    DATABASE_URL: 'postgres://openapi@127.0.0.1:1/openapi',
    ADMIN_API_KEY: 'openapi-generation-only-0123456789',
    LOG_LEVEL: 'silent',
  });
  const app = await createBillingApp(
    config,
    createRootLogger({ serviceName: 'billing-api-openapi', level: 'silent' }),
  );
  try {
    return serialiseOpenApi(buildOpenApiDocument(app));
  } finally {
    await app.close();
  }
}

async function main(): Promise<number> {
  const text = await generateOpenApi();
  if (process.argv.includes('--check')) {
    const current = readFileSync(OPENAPI_PATH, 'utf8');
    if (current === text) return 0;
    console.error(`${OPENAPI_PATH} is out of date: npm run openapi -w services/billing-api`);
    return 1;
  }
  writeFileSync(OPENAPI_PATH, text);
  console.error(`wrote ${OPENAPI_PATH}`);
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`openapi: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
