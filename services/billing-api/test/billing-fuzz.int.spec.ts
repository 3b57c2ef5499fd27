import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fieldName, textProblem } from '../src/common/text-input';
import { type ApiAnswer, BillingHarness } from './billing-harness';

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
  await h.start({ UNBILLED_REFRESH_MS: '0' });
  await h.tenant('acme');
  await h.plan({ id: 'std', cpu: { tiers: [{ upTo: null, unitPrice: '0.04' }] } });
  await h.assign('acme', 'std', '2025-01-01T00:00:00Z');
  await h.bucket('acme', 'r1', '2025-11-03T10:00:00Z', '1', '1');
  await h.bucket('Acme', 'r1', '2025-11-03T10:00:00Z', '1', '1');
  await h.bucket('ghost\u0001', 'r1', '2025-11-03T10:00:00Z', '1', '1');
  tenantKey = (await h.key('acme')).key;
});
after(() => h.stop());

interface ErrorBody {
  status: number;
  code: string;
  detail: string;
  field?: string;
}

/** What every answer must be, whatever was sent. */
function assertSound(r: ApiAnswer, what: string): void {
  assert.ok(r.status < 500, `${what} → ${r.status} ${r.text.slice(0, 500)}`);
  assert.doesNotMatch(r.text, /\n\s+at |node_modules|\.js:\d+/, what);
  if (r.status === 400) {
    const body = r.json as ErrorBody;
    assert.equal(body.code, 'VALIDATION_FAILED', `${what} → ${r.text.slice(0, 500)}`);
    assert.ok(
      typeof body.field === 'string' && body.field.length > 0,
      `${what}: a 400 names its field → ${r.text.slice(0, 500)}`,
    );
    assert.ok(body.detail.includes(body.field), `${what}: the detail names ${body.field}`);
  }
}

// ---- Generators ---------------------------------------------------------------------------

const controls = fc.constantFrom(
  '\u0000',
  '\u0001',
  '\t',
  '\n',
  '\r',
  '\u001b',
  '\u001f',
  '\u007f',
  '\u0080',
  '\u0085',
  '\u009f',
);
const loneSurrogates = fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff');
const exotic = fc.constantFrom(
  '👻',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  '\u2028',
  '\u2029',
  '\ufeff',
  '\ufffd',
  '\uffff',
  '\u00a0',
  'e\u0301',
  'İ',
  'ß',
  'Ⅻ',
  '２０２５-１１',
  '%',
  '%00',
  '%ZZ',
  '/',
  '\\',
  '?',
  '#',
  '&',
  '=',
  '+',
  ' ',
  '"',
  "'",
  '<script>',
  "'; DROP TABLE tenant; --",
  '${x}',
  '__proto__',
  'constructor',
  '2025-11',
  '2025-02-31T00:00:00Z',
  '2025-11-01T24:00:00Z',
  '0001-01',
  '9999-12',
  '1e400',
  '-0',
  'NaN',
  'Infinity',
  '9'.repeat(60),
  'acme',
  'Acme',
);
const long = fc.constantFrom(300, 5_000, 70_000).map((n) => 'x'.repeat(n));
/** Text that no field of the API may hold: it must be a 400 naming the field. */
const forbiddenText = fc
  .tuple(
    fc.string({ maxLength: 8 }),
    fc.oneof(controls, loneSurrogates),
    fc.string({ maxLength: 8 }),
  )
  .map(([a, b, c]) => a + b + c);
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  exotic,
  forbiddenText,
  long,
);
const wrongType = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 0.1 + 0.2),
  fc.array(text, { maxLength: 3 }),
  fc.dictionary(text, text, { maxKeys: 3 }),
);
const jsonValue = fc.oneof(text, wrongType);

/**
 * Percent-encodes text for a URL as a client would, except that a lone surrogate (which has no
 * UTF-8 form) goes out as the three bytes of its CESU-8 form, which is not UTF-8.
 */
function encodeUrlText(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    const next = s.charCodeAt(i + 1);
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += encodeURIComponent(s.slice(i, i + 2));
      i += 1;
    } else if (unit >= 0xd800 && unit <= 0xdfff) {
      out += [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    } else {
      // '.' too: "." and ".." segments would be resolved away by the URL parser.
      out += encodeURIComponent(s[i] ?? '').replace(/\./g, '%2E');
    }
  }
  return out;
}

const hasLoneSurrogate = (s: string): boolean =>
  /[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''));

// ---- Routes -------------------------------------------------------------------------------

type Who = 'admin' | 'tenant';
interface Route {
  readonly method: string;
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  /** A valid body, or none for routes that take no body. */
  readonly body?: Readonly<Record<string, unknown>>;
}

const routes: readonly Route[] = [
  { method: 'GET', path: '/v1/tenants', params: {}, query: { limit: '2', namePrefix: 'A' } },
  {
    method: 'GET',
    path: '/v1/tenants/:id/invoices',
    params: { id: 'acme' },
    query: { from: '2025-01', to: '2025-12', status: 'draft', limit: '5' },
  },
  { method: 'GET', path: '/v1/price-plans', params: {}, query: { currency: 'EUR', limit: '2' } },
  {
    method: 'GET',
    path: '/v1/price-plans/:planId/versions',
    params: { planId: 'std' },
    query: { limit: '1' },
  },
  {
    method: 'GET',
    path: '/v1/api-keys',
    params: {},
    query: { tenantId: 'acme', status: 'active', limit: '3' },
  },
  {
    method: 'POST',
    path: '/v1/tenants',
    params: {},
    query: {},
    body: { id: 'fz-new', name: 'Fuzz', timeZone: 'UTC', currency: 'EUR' },
  },
  { method: 'GET', path: '/v1/tenants/:id', params: { id: 'acme' }, query: {} },
  { method: 'POST', path: '/v1/tenants/:id/api-keys', params: { id: 'acme' }, query: {}, body: {} },
  {
    method: 'DELETE',
    path: '/v1/tenants/:id/api-keys/:keyId',
    params: { id: 'acme', keyId: '0123456789abcdef' },
    query: {},
  },
  {
    method: 'POST',
    path: '/v1/price-plans',
    params: {},
    query: {},
    body: {
      id: 'fz-plan',
      currency: 'EUR',
      basis: 'usage',
      cpu: {
        tiers: [
          { upTo: '100', unitPrice: '0.04' },
          { upTo: null, unitPrice: '0.03' },
        ],
      },
      memory: { tiers: [{ upTo: null, unitPrice: '0.005' }] },
      minimum: '0.00',
    },
  },
  { method: 'GET', path: '/v1/price-plans/:planId', params: { planId: 'std' }, query: {} },
  {
    method: 'PUT',
    path: '/v1/tenants/:id/plan',
    params: { id: 'acme' },
    query: {},
    body: { planId: 'std', planVersion: 1, effectiveFrom: '2026-11-01T00:00:00Z' },
  },
  {
    method: 'GET',
    path: '/v1/tenants/:id/usage',
    params: { id: 'acme' },
    query: {
      from: '2025-11-01T00:00:00Z',
      to: '2025-11-10T00:00:00Z',
      granularity: 'day',
      by: 'resource',
      basis: 'usage',
    },
  },
  {
    method: 'GET',
    path: '/v1/tenants/:id/invoices/:period',
    params: { id: 'acme', period: '2025-11' },
    query: { format: 'json' },
  },
  {
    method: 'POST',
    path: '/v1/periods/:period/close',
    params: { period: '2025-10' },
    query: {},
    body: {},
  },
  {
    method: 'GET',
    path: '/v1/invoices/export',
    params: {},
    query: { period: '2025-11', format: 'jsonl' },
  },
  {
    method: 'PATCH',
    path: '/v1/tenants/:id',
    params: { id: 'acme' },
    query: {},
    body: {
      legalName: 'Ωμέγα 株式会社',
      address: ['Main St 1', '10115 Berlin'],
      taxId: 'DE123456789',
      email: 'billing@example.com',
      taxRate: '19',
      paymentTermsDays: 30,
      locale: 'de-DE',
    },
  },
  {
    method: 'POST',
    path: '/v1/invoices/:id/credit-notes',
    params: { id: 'INV-2025-10-000001' },
    query: {},
    body: { reason: 'fuzz', lines: [{ lineIndex: 0, amount: '0.01' }] },
  },
  {
    method: 'GET',
    path: '/v1/tenants/:id/credit-notes/:number',
    params: { id: 'acme', number: 'CN-2026-000001' },
    query: { format: 'json' },
  },
  {
    method: 'GET',
    path: '/v1/unbilled-usage',
    params: {},
    query: { period: '2025-11', limit: '2', cursor: Buffer.from('Acme').toString('base64url') },
  },
  {
    method: 'GET',
    path: '/v1/tenants/:id/budget-thresholds',
    params: { id: 'acme' },
    query: {},
  },
  {
    method: 'POST',
    path: '/v1/tenants/:id/budget-thresholds',
    params: { id: 'acme' },
    query: {},
    body: { amount: '12.34' },
  },
  {
    method: 'DELETE',
    path: '/v1/tenants/:id/budget-thresholds/:thresholdId',
    params: { id: 'acme', thresholdId: 'bt_0123456789abcdef01234567' },
    query: {},
  },
  // The tenant portal (issue 17): sign-in (public), admin links, the overview.
  {
    method: 'POST',
    path: '/v1/portal/sessions',
    params: {},
    query: {},
    body: { apiKey: `mk_0123456789abcdef_${'a'.repeat(43)}` },
  },
  {
    method: 'POST',
    path: '/v1/tenants/:id/portal-links',
    params: { id: 'acme' },
    query: {},
    body: {},
  },
  {
    method: 'GET',
    path: '/v1/tenants/:id/overview',
    params: { id: 'acme' },
    query: { at: '2025-11-15T12:00:00Z' },
  },
];

/** The portal session's own routes: a cookie or nothing (401 before any input is read). */
const sessionRoutes: readonly Route[] = ['GET', 'DELETE'].map((method) => ({
  method,
  path: '/v1/portal/session',
  params: {},
  query: {},
}));

/** Probes, scrapes and the OpenAPI document: no input, so junk in them is ignored, never a 5xx. */
const inputlessRoutes: readonly Route[] = ['/healthz', '/metrics', '/docs-json', '/docs'].map(
  (path) => ({ method: 'GET', path, params: {}, query: {} }),
);

/** Every place of a route a value can go: each parameter, each body field, and extra ones. */
type Slot =
  | { kind: 'param'; name: string }
  | { kind: 'query'; name: string }
  | { kind: 'extra-query' }
  | { kind: 'body'; path: readonly (string | number)[] }
  | { kind: 'extra-body' };

function bodyPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [path];
  const entries = Array.isArray(value)
    ? value.map((v, i) => [i, v] as const)
    : Object.entries(value);
  return [path, ...entries.flatMap(([k, v]) => bodyPaths(v, [...path, k]))].filter(
    (p) => p.length > 0,
  );
}

function slotsOf(route: Route): Slot[] {
  return [
    ...Object.keys(route.params).map((name): Slot => ({ kind: 'param', name })),
    ...Object.keys(route.query).map((name): Slot => ({ kind: 'query', name })),
    { kind: 'extra-query' },
    ...(route.body === undefined
      ? []
      : [
          ...bodyPaths(route.body).map((path): Slot => ({ kind: 'body', path })),
          { kind: 'extra-body' } as Slot,
        ]),
  ];
}

const fieldOfPath = (path: readonly (string | number)[]): string =>
  path.reduce<string>(
    (out, k) => (typeof k === 'number' ? `${out}[${k}]` : out === '' ? k : `${out}.${k}`),
    '',
  );

function withBodyValue(body: unknown, path: readonly (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  if (Array.isArray(body)) {
    const copy: unknown[] = [...(body as unknown[])];
    copy[head as number] = withBodyValue(copy[head as number], rest, value);
    return copy;
  }
  const record = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  return { ...record, [head]: withBodyValue(record[head], rest, value) };
}

interface Request {
  readonly method: string;
  readonly url: string;
  readonly body?: unknown;
  /** The field a forbidden text was put in (as the API names it), or null. */
  readonly forbiddenIn: string | null;
}

function buildRequest(route: Route, slot: Slot, value: unknown, extraKey: string): Request {
  const params = { ...route.params };
  const query: [string, string][] = Object.entries(route.query);
  let body: unknown = route.body;
  let forbiddenIn: string | null = null;
  const forbidden = (s: unknown): boolean => typeof s === 'string' && textProblem(s) !== null;
  switch (slot.kind) {
    case 'param': {
      const s = typeof value === 'string' ? value : JSON.stringify(value);
      params[slot.name] = s;
      // A lone surrogate cannot be percent-encoded as UTF-8: the whole path is refused instead.
      if (hasLoneSurrogate(s)) forbiddenIn = 'path';
      else if (forbidden(s)) forbiddenIn = slot.name;
      break;
    }
    case 'query': {
      const s = typeof value === 'string' ? value : JSON.stringify(value);
      const i = query.findIndex(([k]) => k === slot.name);
      query[i] = [slot.name, s];
      // The query parser decodes invalid UTF-8 as U+FFFD: a lone surrogate arrives as other text.
      if (forbidden(s) && !hasLoneSurrogate(s)) forbiddenIn = slot.name;
      break;
    }
    case 'extra-query': {
      const s = typeof value === 'string' ? value : JSON.stringify(value);
      query.push([extraKey, s]);
      if (!hasLoneSurrogate(extraKey) && forbidden(extraKey)) forbiddenIn = fieldName(extraKey);
      else if (
        !hasLoneSurrogate(extraKey + s) &&
        forbidden(s) &&
        route.query[extraKey] === undefined
      ) {
        forbiddenIn = fieldName(extraKey);
      }
      break;
    }
    case 'body':
      body = withBodyValue(body, slot.path, value);
      if (forbidden(value)) forbiddenIn = fieldOfPath(slot.path);
      break;
    case 'extra-body':
      body = { ...(body as Record<string, unknown>), [extraKey]: value };
      if (forbidden(extraKey)) forbiddenIn = fieldName(extraKey);
      else if (forbidden(value)) forbiddenIn = fieldName(extraKey);
      break;
  }
  const path = route.path.replace(/:([A-Za-z]+)/g, (_, name: string) =>
    encodeUrlText(params[name] ?? ''),
  );
  const search = query.map(([k, v]) => `${encodeUrlText(k)}=${encodeUrlText(v)}`).join('&');
  return {
    method: route.method,
    url: search === '' ? path : `${path}?${search}`,
    ...(body === undefined ? {} : { body }),
    forbiddenIn,
  };
}

const routeAndSlot = fc
  .constantFrom(...routes)
  .chain((route) => fc.tuple(fc.constant(route), fc.constantFrom(...slotsOf(route))));

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

describe('the reported 500s and their class: each a 400 naming its field', () => {
  const cases: [string, string, { body?: unknown; rawBody?: string | Uint8Array }, string][] = [
    ['GET', '/v1/tenants/%00', {}, 'id'],
    ['GET', '/v1/tenants/acme%01', {}, 'id'],
    ['GET', '/v1/tenants/%C2%85', {}, 'id'],
    ['GET', '/v1/price-plans/std%00', {}, 'planId'],
    ['DELETE', '/v1/tenants/acme/api-keys/%00', {}, 'keyId'],
    ['DELETE', '/v1/tenants/acme/budget-thresholds/%00', {}, 'thresholdId'],
    ['POST', '/v1/tenants/acme/budget-thresholds', { body: { amount: '1\u0000' } }, 'amount'],
    ['GET', '/v1/tenants/%ED%A0%80', {}, 'path'],
    ['GET', '/v1/tenants/%E0%A4%A', {}, 'path'],
    ['GET', '/v1/tenants/%FF', {}, 'path'],
    ['POST', '/v1/tenants', { body: { id: 'nul', name: 'a\u0000b', currency: 'EUR' } }, 'name'],
    ['POST', '/v1/tenants', { body: { id: 'lone', name: 'a\ud800', currency: 'EUR' } }, 'name'],
    ['POST', '/v1/tenants', { body: { id: 'tab', name: 'a\tb', currency: 'EUR' } }, 'name'],
    [
      'POST',
      '/v1/tenants',
      { body: { id: 'key', name: 'n', currency: 'EUR', 'x\u0000': 1 } },
      'x\\u0000',
    ],
    [
      'POST',
      '/v1/tenants',
      { rawBody: Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]) },
      'body',
    ],
    [
      'POST',
      '/v1/price-plans',
      {
        body: {
          id: 'p',
          currency: 'EUR',
          basis: 'usage',
          cpu: { tiers: [{ upTo: null, unitPrice: '0.04\u0000' }] },
        },
      },
      'cpu.tiers[0].unitPrice',
    ],
    ['GET', '/v1/invoices/export?period=0001-01', {}, 'period'],
    ['GET', '/v1/invoices/export?period=9999-12', {}, 'period'],
    ['GET', '/v1/invoices/export?period=2025-11%00', {}, 'period'],
    ['GET', '/v1/tenants/acme/invoices/9999-12', {}, 'period'],
    ['POST', '/v1/periods/0001-01/close', {}, 'period'],
    ['GET', '/v1/tenants/acme/usage?from=2026-02-31T00:00:00Z&to=2026-03-05T00:00:00Z', {}, 'from'],
    ['GET', '/v1/tenants/acme/usage?from=2026-02-01T00:00:00Z&to=2026-02-28T24:00:00Z', {}, 'to'],
    [
      'PUT',
      '/v1/tenants/acme/plan',
      { body: { planId: 'std', effectiveFrom: '2026-02-30T00:00:00Z' } },
      'effectiveFrom',
    ],
    ['GET', '/v1/unbilled-usage?period=9999-12', {}, 'period'],
    ['GET', '/v1/unbilled-usage?period=2025-11&cursor=%00', {}, 'cursor'],
  ];
  for (const [method, url, options, field] of cases) {
    const shown =
      options.rawBody instanceof Uint8Array
        ? `bytes ${Buffer.from(options.rawBody).toString('hex')}`
        : JSON.stringify(options.body ?? options.rawBody ?? '');
    test(`${method} ${url} ${shown} → 400 ${field}`, async () => {
      const r = await h.call(method, url, options);
      assertSound(r, `${method} ${url}`);
      assert.equal(r.status, 400, r.text);
      assert.equal((r.json as ErrorBody).field, field, r.text);
    });
  }

  test('a tenant key with a NUL in its own routes learns nothing: 404, never 500', async () => {
    const r = await h.call('GET', '/v1/tenants/acme%00/usage?from=x', { key: tenantKey });
    assert.equal(r.status, 404, r.text);
  });
});
