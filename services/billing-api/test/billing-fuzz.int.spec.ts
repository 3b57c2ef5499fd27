import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BillingHarness } from './billing-harness';
import { assertSound, type ErrorBody, startFuzzHarness } from './fuzz-harness';
import { encodeUrlText, jsonValue, text } from './fuzz-inputs';
import {
  buildRequest,
  inputlessRoutes,
  routeAndSlot,
  routes,
  sessionRoutes,
  type Who,
} from './fuzz-routes';

/**
 * Hostile input against the running API, on every route, in every path parameter, query
 * parameter and body field, with the admin key and a tenant key: NUL, C0/C1 control
 * characters, lone surrogates, non-BMP and combining characters, URL syntax, very long strings,
 * wrong JSON types, undecodable percent-encoding, invalid UTF-8 bodies. Whatever comes in, the
 * answer is never a 5xx or a stack trace, a 400 names its field, and text that no field may
 * hold (text-input.ts) is a 400 naming exactly the field it was put in. Bounded: a fixed number
 * of runs against 127.0.0.1 only.
 */
const h = new BillingHarness();
let tenantKey = '';

before(async () => {
  tenantKey = await startFuzzHarness(h);
});
after(() => h.stop());

describe('fuzz: hostile input in every parameter and field of every route', () => {
  test('one field at a time: never a 5xx; forbidden text is a 400 naming that field', async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        routeAndSlot,
        jsonValue,
        fc.oneof(text, fc.constantFrom('period', 'limit', 'id', 'format')),
        fc.constantFrom<Who>('admin', 'admin', 'tenant'),
        async ([route, slot], value, extraKey, who) => {
          // Paths and query strings carry text; wrong JSON types go into bodies.
          const v =
            slot.kind === 'body' || slot.kind === 'extra-body' || typeof value === 'string'
              ? value
              : JSON.stringify(value);
          const req = buildRequest(route, slot, v, extraKey);
          const r = await h.call(req.method, req.url, {
            key: who === 'admin' ? undefined : tenantKey,
            ...(req.body === undefined ? {} : { body: req.body }),
          });
          const what = `${who} ${req.method} ${req.url.slice(0, 300)} ${JSON.stringify(req.body)?.slice(0, 300) ?? ''}`;
          seen.set(`${r.status}`, (seen.get(`${r.status}`) ?? 0) + 1);
          assertSound(r, what);
          // URLs past the server's header limit are refused before any route (431).
          if (who === 'admin' && req.forbiddenIn !== null && r.status !== 431) {
            assert.equal(r.status, 400, `${what} → ${r.text.slice(0, 300)}`);
            assert.equal(
              (r.json as ErrorBody).field,
              req.forbiddenIn,
              `${what} → ${r.text.slice(0, 300)}`,
            );
          }
        },
      ),
      { numRuns: 1500 },
    );
    // The pass reached the handlers (2xx, 404, 409, 422), not only the validation layer.
    for (const status of ['200', '400', '404']) {
      assert.ok(seen.has(status), `${status} in ${JSON.stringify([...seen])}`);
    }
  });

  test('whole requests at random, with any key or none: never a 5xx', async () => {
    const segment = fc.oneof(
      text,
      fc.constantFrom('acme', 'nobody', '2025-11', '2025-10', '1999-01', '2025-13', 'std'),
    );
    const query = fc.array(
      fc.tuple(
        fc.oneof(text, fc.constantFrom('from', 'to', 'period', 'format', 'limit', 'cursor')),
        text,
      ),
      {
        maxLength: 5,
      },
    );
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }).map((json) => ({ body: json })),
      fc
        .dictionary(
          fc.oneof(text, fc.constantFrom('id', 'name', 'cpu', 'tiers', 'planId')),
          jsonValue,
          { maxKeys: 5 },
        )
        .map((json) => ({ body: json })),
      fc.string({ unit: 'binary', maxLength: 60 }).map((raw) => ({ rawBody: raw })),
      fc.uint8Array({ maxLength: 40 }).map((bytes) => ({ rawBody: bytes })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes, ...inputlessRoutes, ...sessionRoutes),
        segment,
        segment,
        query,
        body,
        fc.constantFrom<'admin' | 'tenant' | 'none'>('admin', 'admin', 'tenant', 'none'),
        async (route, a, b, q, payload, who) => {
          let n = 0;
          const path = route.path.replace(/:[A-Za-z]+/g, () => encodeUrlText(n++ === 0 ? a : b));
          const search = q.map(([k, v]) => `${encodeUrlText(k)}=${encodeUrlText(v)}`).join('&');
          const url = search === '' ? path : `${path}?${search}`;
          const r = await h.call(route.method, url, {
            key: who === 'admin' ? undefined : who === 'tenant' ? tenantKey : null,
            ...(route.method === 'GET' || route.method === 'DELETE' ? {} : payload),
          });
          assertSound(r, `${who} ${route.method} ${url.slice(0, 300)}`);
        },
      ),
      { numRuns: 600 },
    );
  });
});
