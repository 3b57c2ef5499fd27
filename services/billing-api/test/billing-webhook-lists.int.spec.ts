import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ApiAnswer, BillingHarness } from './billing-harness';

// The webhook lists are lists like every other: {data, nextCursor}, keyset pages, filters, and
// a 400 naming the field for every shape of bad input. Deliveries are written straight into the
// log (the rows the delivery worker writes; their next attempt is far away, so it leaves them).
const h = new BillingHarness();
let acmeKey = '';

interface Endpoint {
  id: string;
  tenantId: string | null;
  status: string;
}
interface Delivery {
  id: string;
  endpointId: string;
  eventType: string;
  status: string;
}
interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

const provider: string[] = [];
let acmeEndpoint = '';
let globexEndpoint = '';
const disabled = new Set<string>();
/** The log of provider[0], as written: [id, status, eventType]. */
const written: [string, string, string][] = [];

const page = <T>(r: ApiAnswer): Page<T> => {
  assert.equal(r.status, 200, r.text);
  return r.json as Page<T>;
};

/** Every item of a list, following nextCursor with `limit`; checks each page's size. */
async function walk<T>(path: string, limit: number, key?: string): Promise<T[]> {
  const items: T[] = [];
  const join = path.includes('?') ? '&' : '?';
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const suffix: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const p: Page<T> = page<T>(
      await h.call(
        'GET',
        `${path}${join}limit=${limit}${suffix}`,
        key === undefined ? {} : { key },
      ),
    );
    assert.ok(p.data.length <= limit, `page of ${p.data.length} > ${limit}`);
    items.push(...p.data);
    if (p.nextCursor === null) return items;
    assert.equal(p.data.length, limit, 'only the last page is short');
    cursor = p.nextCursor;
  }
  throw new Error(`${path}: more than 100 pages`);
}

function assertProblem(r: ApiAnswer, field: string): void {
  assert.equal(r.status, 400, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const body = r.json as { code: string; field?: string; errors?: { field: string }[] };
  assert.equal(body.code, 'VALIDATION_FAILED', r.text);
  const fields = [body.field, ...(body.errors ?? []).map((e) => e.field)];
  assert.ok(fields.includes(field), `${field} not named in ${r.text}`);
}

before(async () => {
  await h.start({ WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32', WEBHOOK_POLL_MS: '60000' });
  await h.tenant('acme');
  await h.tenant('globex');
  acmeKey = (await h.key('acme')).key;
  const register = async (body: Record<string, unknown>, key?: string): Promise<string> => {
    const r = await h.call('POST', '/v1/webhook-endpoints', { body, key });
    assert.equal(r.status, 201, r.text);
    return (r.json as Endpoint).id;
  };
  for (let i = 0; i < 5; i++) {
    provider.push(
      await register({ url: `http://127.0.0.1:9/p${i}`, eventTypes: ['invoice.finalized'] }),
    );
  }
  acmeEndpoint = await register(
    { url: 'http://127.0.0.1:9/acme', eventTypes: ['invoice.finalized'] },
    acmeKey,
  );
  globexEndpoint = await register({
    url: 'http://127.0.0.1:9/globex',
    eventTypes: ['invoice.finalized'],
    tenantId: 'globex',
  });
  for (const id of [provider[1]!, provider[3]!, acmeEndpoint]) disabled.add(id);
  await h.db.query(
    `UPDATE webhook_endpoint SET status = 'disabled', disabled_reason = 'test' WHERE id = ANY($1)`,
    [[...disabled]],
  );
  const types = ['invoice.finalized', 'invoice.drafted', 'credit_note.issued'];
  const statuses = ['delivered', 'failed', 'pending'];
  for (let i = 0; i < 11; i++) {
    const eventId = `evt_list_${i}`;
    const type = types[i % 3]!;
    await h.db.query(
      `INSERT INTO event_outbox (event_id, event_type, tenant_id, topic, key, payload, occurred_at, sent_at)
       VALUES ($1, $2, NULL, 'billing.invoices.v1', 'k', '{}', now(), now())`,
      [eventId, type],
    );
    const rows = await h.db.query<{ id: string }[]>(
      `INSERT INTO webhook_delivery (endpoint_id, event_id, status, next_attempt_at)
       VALUES ($1, $2, $3, now() + interval '1 day') RETURNING id::text AS id`,
      [provider[0], eventId, statuses[i % 3]],
    );
    written.push([rows[0]!.id, statuses[i % 3]!, type]);
  }
  // Another endpoint's delivery never shows in provider[0]'s log.
  await h.db.query(
    `INSERT INTO webhook_delivery (endpoint_id, event_id, status, next_attempt_at)
     VALUES ($1, 'evt_list_0', 'failed', now() + interval '1 day')`,
    [acmeEndpoint],
  );
});
after(() => h.stop());

describe('GET /v1/webhook-endpoints', () => {
  test('pages of {data, nextCursor} in creation order, each endpoint once', async () => {
    const all = [...provider, acmeEndpoint, globexEndpoint];
    for (const limit of [1, 2, 3, 200]) {
      const items = await walk<Endpoint>('/v1/webhook-endpoints', limit);
      assert.deepEqual(
        items.map((e) => e.id),
        all,
        `limit ${limit}`,
      );
    }
    const first = page<Endpoint>(await h.call('GET', '/v1/webhook-endpoints'));
    assert.equal(first.nextCursor, null, 'the default page (50) holds all seven');
    assert.equal((first as unknown as { items?: unknown }).items, undefined);
  });

  test('filters: status, and tenantId for the admin; a tenant key sees only its own', async () => {
    const off = await walk<Endpoint>('/v1/webhook-endpoints?status=disabled', 1);
    assert.deepEqual(
      off.map((e) => e.id),
      [provider[1], provider[3], acmeEndpoint],
    );
    assert.ok(off.every((e) => e.status === 'disabled'));
    const on = await walk<Endpoint>('/v1/webhook-endpoints?status=enabled', 2);
    assert.deepEqual(
      on.map((e) => e.id),
      [provider[0], provider[2], provider[4], globexEndpoint],
    );
    const globex = await walk<Endpoint>('/v1/webhook-endpoints?tenantId=globex', 1);
    assert.deepEqual(
      globex.map((e) => e.id),
      [globexEndpoint],
    );
    const mine = await walk<Endpoint>('/v1/webhook-endpoints', 1, acmeKey);
    assert.deepEqual(
      mine.map((e) => e.id),
      [acmeEndpoint],
    );
    const theirs = page<Endpoint>(
      await h.call('GET', '/v1/webhook-endpoints?tenantId=globex', { key: acmeKey }),
    );
    assert.deepEqual(theirs, { data: [], nextCursor: null });
    const mineEnabled = page<Endpoint>(
      await h.call('GET', '/v1/webhook-endpoints?status=enabled', { key: acmeKey }),
    );
    assert.deepEqual(mineEnabled.data, []);
  });

  test('a cursor is bound to its filters and to its list', async () => {
    const p = page<Endpoint>(await h.call('GET', '/v1/webhook-endpoints?status=enabled&limit=1'));
    const cursor = encodeURIComponent(p.nextCursor ?? '');
    assertProblem(
      await h.call('GET', `/v1/webhook-endpoints?status=disabled&cursor=${cursor}`),
      'cursor',
    );
    assertProblem(await h.call('GET', `/v1/tenants?cursor=${cursor}`), 'cursor');
    assertProblem(
      await h.call('GET', `/v1/webhook-endpoints/${provider[0]}/deliveries?cursor=${cursor}`),
      'cursor',
    );
    const ok = await h.call('GET', `/v1/webhook-endpoints?status=enabled&cursor=${cursor}`);
    assert.equal(ok.status, 200, ok.text);
  });
});

describe('GET /v1/webhook-endpoints/{id}/deliveries', () => {
  const log = () => `/v1/webhook-endpoints/${provider[0]}/deliveries`;
  const newestFirst = (rows: typeof written) => [...rows].reverse().map(([id]) => id);

  test('pages newest first, each delivery once, only this endpoint’s', async () => {
    for (const limit of [1, 4, 11, 200]) {
      const items = await walk<Delivery>(log(), limit);
      assert.deepEqual(
        items.map((d) => d.id),
        newestFirst(written),
        `limit ${limit}`,
      );
      assert.ok(items.every((d) => d.endpointId === provider[0]));
    }
  });

  test('filters: status, eventType, both; a cursor of one filter is refused for another', async () => {
    for (const status of ['delivered', 'failed', 'pending']) {
      const items = await walk<Delivery>(`${log()}?status=${status}`, 2);
      assert.deepEqual(
        items.map((d) => d.id),
        newestFirst(written.filter(([, s]) => s === status)),
        status,
      );
    }
    const drafted = await walk<Delivery>(`${log()}?eventType=invoice.drafted`, 2);
    assert.deepEqual(
      drafted.map((d) => d.id),
      newestFirst(written.filter(([, , t]) => t === 'invoice.drafted')),
    );
    assert.ok(drafted.every((d) => d.eventType === 'invoice.drafted'));
    const both = await walk<Delivery>(`${log()}?eventType=credit_note.issued&status=pending`, 1);
    assert.deepEqual(
      both.map((d) => d.id),
      newestFirst(written.filter(([, s, t]) => s === 'pending' && t === 'credit_note.issued')),
    );
    const none = page<Delivery>(
      await h.call('GET', `${log()}?eventType=webhook_endpoint.disabled`),
    );
    assert.deepEqual(none, { data: [], nextCursor: null });
    const p = page<Delivery>(await h.call('GET', `${log()}?status=failed&limit=1`));
    const cursor = encodeURIComponent(p.nextCursor ?? '');
    assertProblem(await h.call('GET', `${log()}?status=delivered&cursor=${cursor}`), 'cursor');
    assertProblem(
      await h.call(
        'GET',
        `/v1/webhook-endpoints/${acmeEndpoint}/deliveries?status=failed&cursor=${cursor}`,
      ),
      'cursor',
    );
  });

  test('a tenant key: its own endpoint’s log; another’s is 404', async () => {
    const mine = page<Delivery>(
      await h.call('GET', `/v1/webhook-endpoints/${acmeEndpoint}/deliveries`, { key: acmeKey }),
    );
    assert.equal(mine.data.length, 1);
    const theirs = await h.call('GET', log(), { key: acmeKey });
    assert.equal(theirs.status, 404);
  });
});

describe('list parameters of the webhook lists: every shape of bad input is a 400 naming the field', () => {
  const bad: [string, string][] = [
    ['limit=0', 'limit'],
    ['limit=201', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=1.5', 'limit'],
    ['limit=1e2', 'limit'],
    ['limit=NaN', 'limit'],
    ['limit=Infinity', 'limit'],
    ['limit=%EF%BC%91', 'limit'],
    ['limit=', 'limit'],
    ['limit=1&limit=2', 'limit'],
    ['limit=01', 'limit'],
    [`limit=${'9'.repeat(5000)}`, 'limit'],
    ['limit=%00', 'limit'],
    ['cursor=a&cursor=b', 'cursor'],
    ['cursor=%01', 'cursor'],
    ['cursor=garbage', 'cursor'],
    [`cursor=${'x'.repeat(3000)}`, 'cursor'],
    ['status=all', 'status'],
    ['status=enabled&status=disabled', 'status'],
    ['status=%00', 'status'],
  ];
  const lists = () => ['/v1/webhook-endpoints', `/v1/webhook-endpoints/${provider[0]}/deliveries`];
  for (const [query, field] of bad) {
    test(`GET …?${query.slice(0, 40)} → 400 ${field}`, async () => {
      for (const list of lists()) assertProblem(await h.call('GET', `${list}?${query}`), field);
    });
  }
  const filters: [() => string, string][] = [
    [() => `/v1/webhook-endpoints?tenantId=a%20b`, 'tenantId'],
    [() => `/v1/webhook-endpoints?tenantId=-1`, 'tenantId'],
    [() => `/v1/webhook-endpoints?tenantId=a&tenantId=b`, 'tenantId'],
    [() => `/v1/webhook-endpoints?status=Ωμέγα`, 'status'],
    [() => `/v1/webhook-endpoints/${provider[0]}/deliveries?status=enabled`, 'status'],
    [() => `/v1/webhook-endpoints/${provider[0]}/deliveries?eventType=invoice.paid`, 'eventType'],
    [() => `/v1/webhook-endpoints/${provider[0]}/deliveries?eventType=`, 'eventType'],
    [() => `/v1/webhook-endpoints/${provider[0]}/deliveries?eventType=%00`, 'eventType'],
    [
      () =>
        `/v1/webhook-endpoints/${provider[0]}/deliveries?eventType=invoice.drafted&eventType=invoice.finalized`,
      'eventType',
    ],
  ];
  for (const [url, field] of filters) {
    test(`GET ${url()
      .replace(/we_[0-9a-f]+/, '{id}')
      .slice(0, 70)} → 400 ${field}`, async () => {
      assertProblem(await h.call('GET', url()), field);
    });
  }
});
