import fc from 'fast-check';
import { fieldName, textProblem } from '../src/common/text-input';
import { encodeUrlText, hasLoneSurrogate } from './fuzz-inputs';

/**
 * The fuzzer's map of the API: every route with valid parameters, query and body, every slot a
 * value can go in, and the request that puts a value in one slot.
 */
export type Who = 'admin' | 'tenant';
export interface Route {
  readonly method: string;
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  /** A valid body, or none for routes that take no body. */
  readonly body?: Readonly<Record<string, unknown>>;
}

export const routes: readonly Route[] = [
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
export const sessionRoutes: readonly Route[] = ['GET', 'DELETE'].map((method) => ({
  method,
  path: '/v1/portal/session',
  params: {},
  query: {},
}));

/** Probes, scrapes and the OpenAPI document: no input, so junk in them is ignored, never a 5xx. */
export const inputlessRoutes: readonly Route[] = [
  '/healthz',
  '/metrics',
  '/docs-json',
  '/docs',
].map((path) => ({ method: 'GET', path, params: {}, query: {} }));

/** Every place of a route a value can go: each parameter, each body field, and extra ones. */
export type Slot =
  | { kind: 'param'; name: string }
  | { kind: 'query'; name: string }
  | { kind: 'extra-query' }
  | { kind: 'body'; path: readonly (string | number)[] }
  | { kind: 'extra-body' };

export function bodyPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [path];
  const entries = Array.isArray(value)
    ? value.map((v, i) => [i, v] as const)
    : Object.entries(value);
  return [path, ...entries.flatMap(([k, v]) => bodyPaths(v, [...path, k]))].filter(
    (p) => p.length > 0,
  );
}

export function slotsOf(route: Route): Slot[] {
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

export const fieldOfPath = (path: readonly (string | number)[]): string =>
  path.reduce<string>(
    (out, k) => (typeof k === 'number' ? `${out}[${k}]` : out === '' ? k : `${out}.${k}`),
    '',
  );

export function withBodyValue(
  body: unknown,
  path: readonly (string | number)[],
  value: unknown,
): unknown {
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

export interface Request {
  readonly method: string;
  readonly url: string;
  readonly body?: unknown;
  /** The field a forbidden text was put in (as the API names it), or null. */
  readonly forbiddenIn: string | null;
}

export function buildRequest(route: Route, slot: Slot, value: unknown, extraKey: string): Request {
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
      // Key and value are encoded apart: a lone surrogate in either arrives as U+FFFD, even when
      // the two would make a pair if joined.
      if (!hasLoneSurrogate(extraKey) && forbidden(extraKey)) forbiddenIn = fieldName(extraKey);
      else if (
        !hasLoneSurrogate(extraKey) &&
        !hasLoneSurrogate(s) &&
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

export const routeAndSlot = fc
  .constantFrom(...routes)
  .chain((route) => fc.tuple(fc.constant(route), fc.constantFrom(...slotsOf(route))));
