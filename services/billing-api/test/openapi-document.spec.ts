import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generateOpenApi, OPENAPI_PATH } from '../src/cli/openapi.cli';
import { UNNAMED_OPERATION } from '../src/openapi';

/**
 * The checked-in OpenAPI document is the one the code generates: a change to a route, a DTO or
 * a description must come with the regenerated services/billing-api/openapi.json
 * (`npm run openapi -w services/billing-api`), so clients and reviewers see the API's change.
 */
test('services/billing-api/openapi.json is what the code generates', async () => {
  const generated = await generateOpenApi();
  const checkedIn = readFileSync(OPENAPI_PATH, 'utf8');
  if (generated !== checkedIn) {
    const a = generated.split('\n');
    const b = checkedIn.split('\n');
    const line = a.findIndex((l, i) => l !== b[i]);
    assert.fail(
      `openapi.json is out of date from line ${line + 1}:\n  generated:  ${a[line] ?? '(end)'}\n  checked in: ${b[line] ?? '(end)'}\nregenerate: npm run openapi -w services/billing-api`,
    );
  }
});

test('every operation has a stable, explicit, unique operationId; errors are problems', async () => {
  const doc = JSON.parse(await generateOpenApi()) as {
    paths: Record<
      string,
      Record<
        string,
        {
          operationId?: string;
          parameters?: { name: string; in: string }[];
          responses: Record<string, { content?: Record<string, unknown> }>;
        }
      >
    >;
  };
  const ids: string[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const id = op.operationId ?? '';
      assert.match(id, /^[a-z][A-Za-z]+$/, `${method} ${path}: ${id}`);
      assert.ok(!id.startsWith(UNNAMED_OPERATION), `${method} ${path} names its operationId`);
      ids.push(id);
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400 || response.content === undefined) continue;
        assert.deepEqual(
          Object.keys(response.content),
          ['application/problem+json'],
          `${method} ${path} ${status}`,
        );
      }
      if (method === 'post') {
        assert.ok(
          (op.parameters ?? []).some((p) => p.in === 'header' && p.name === 'Idempotency-Key'),
          `${method} ${path} takes an Idempotency-Key`,
        );
      }
    }
  }
  assert.equal(new Set(ids).size, ids.length, `unique: ${ids.join(', ')}`);
  for (const expected of [
    'listTenants',
    'listTenantInvoices',
    'listPricePlans',
    'listPricePlanVersions',
    'listApiKeys',
    'createPricePlan',
    'getInvoice',
  ]) {
    assert.ok(ids.includes(expected), expected);
  }
});
