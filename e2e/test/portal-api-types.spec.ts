import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const REPO_ROOT = resolve(__dirname, '../../..');

// The portal's typed client is generated from billing-api's checked-in OpenAPI document: a route
// or DTO change that was not carried into services/portal/src/api/billing-api.d.ts fails here.
test('the portal API types match billing-api/openapi.json (npm run api-types -w @metering/portal)', () => {
  const r = spawnSync(
    process.execPath,
    [join(REPO_ROOT, 'services/portal/scripts/api-types.mjs'), '--check'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(r.status, 0, `${r.stderr}${r.stdout}`);
  assert.match(r.stdout, /up to date/);
});
