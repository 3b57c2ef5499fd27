import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { invoiceEventIdOf } from '@metering/contracts';
import { waitFor } from '@metering/testing';
import { BillingHarness } from './billing-harness';
import { WebhookReceiver } from './webhook-receiver';

const h = new BillingHarness();
const receiver = new WebhookReceiver();
const broken = new WebhookReceiver();
const TENANTS = ['acme', 'globex', 'initech'];

interface Endpoint {
  id: string;
  tenantId: string | null;
  url: string;
  eventTypes: string[];
  status: string;
  secret?: string | undefined;
  previousSecretExpiresAt: string | null;
}
interface Delivery {
  id: string;
  eventId: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastLatencyMs: number | null;
  lastResponse: string | null;
  lastError: string | null;
}

const register = async (body: Record<string, unknown>, key?: string): Promise<Endpoint> => {
  const r = await h.call('POST', '/v1/webhook-endpoints', { body, key });
  assert.equal(r.status, 201, r.text);
  return r.json as Endpoint;
};
const deliveries = async (endpointId: string): Promise<Delivery[]> => {
  const r = await h.call('GET', `/v1/webhook-endpoints/${endpointId}/deliveries`);
  assert.equal(r.status, 200, r.text);
  return (r.json as { data: Delivery[] }).data;
};

let acmeKey = '';
let globexKey = '';

before(async () => {
  await h.start({
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    WEBHOOK_TIMEOUT_MS: '400',
    WEBHOOK_RETRY_BASE_MS: '50',
    WEBHOOK_RETRY_MAX_MS: '200',
    WEBHOOK_POLL_MS: '50',
    WEBHOOK_DISABLE_AFTER_FAILURES: '4',
    WEBHOOK_DISABLE_AFTER_MS: '0',
  });
  await receiver.start();
  await broken.start('/broken');
  await h.plan({ id: 'std', cpu: { tiers: [{ upTo: null, unitPrice: '0.040' }] } });
  for (const [i, id] of TENANTS.entries()) {
    await h.tenant(id);
    await h.assign(id, 'std', '2026-10-01T00:00:00Z');
    await h.bucket(id, `c-${id}`, '2026-10-05T10:00:00Z', String(i + 1));
  }
  acmeKey = (await h.key('acme')).key;
  globexKey = (await h.key('globex')).key;
});

after(async () => {
  await h.stop();
  await receiver.stop();
  await broken.stop();
});

describe('endpoints: registration, visibility, validation', () => {
  test('a tenant registers its own endpoint and sees only its own', async () => {
    const mine = await register(
      { url: `${receiver.url}?t=acme`, eventTypes: ['invoice.finalized'] },
      acmeKey,
    );
    assert.equal(mine.tenantId, 'acme');
    assert.match(mine.secret ?? '', /^whsec_[A-Za-z0-9_-]{43}$/);
    const theirs = await register(
      { url: `${receiver.url}?t=globex`, eventTypes: ['invoice.finalized'] },
      globexKey,
    );

    const list = await h.call('GET', '/v1/webhook-endpoints', { key: acmeKey });
    assert.deepEqual(
      (list.json as { data: Endpoint[] }).data.map((e) => e.id),
      [mine.id],
    );
    assert.equal(
      (list.json as { data: Endpoint[] }).data[0]!.secret,
      undefined,
      'the secret is shown once',
    );
    for (const [method, path] of [
      ['GET', `/v1/webhook-endpoints/${theirs.id}`],
      ['DELETE', `/v1/webhook-endpoints/${theirs.id}`],
      ['GET', `/v1/webhook-endpoints/${theirs.id}/deliveries`],
      ['POST', `/v1/webhook-endpoints/${theirs.id}/rotate-secret`],
    ] as const) {
      const r = await h.call(method, path, { key: acmeKey });
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal((r.json as { code: string }).code, 'WEBHOOK_ENDPOINT_NOT_FOUND');
    }
    const other = await h.call('POST', '/v1/webhook-endpoints', {
      key: acmeKey,
      body: { url: receiver.url, eventTypes: ['invoice.finalized'], tenantId: 'globex' },
    });
    assert.equal(other.status, 404);
    const admin = await h.call('GET', '/v1/webhook-endpoints');
    assert.ok((admin.json as { data: Endpoint[] }).data.length >= 2, 'the admin sees all');
    // Clean: only the endpoints of the delivery tests below remain.
    assert.equal(
      (await h.call('DELETE', `/v1/webhook-endpoints/${mine.id}`, { key: acmeKey })).status,
      204,
    );
    assert.equal((await h.call('DELETE', `/v1/webhook-endpoints/${theirs.id}`)).status, 204);
    assert.equal((await h.call('GET', `/v1/webhook-endpoints/${mine.id}`)).status, 404);
    assert.equal((await h.call('GET', '/v1/webhook-endpoints', { key: null })).status, 401);
  });

  const bad: [name: string, body: unknown, field: string, message: RegExp][] = [
    [
      'NUL in the URL',
      { url: 'http://127.0.0.1/\u0000', eventTypes: ['invoice.finalized'] },
      'url',
      /control characters/,
    ],
    [
      'huge URL',
      { url: `http://127.0.0.1/${'a'.repeat(5000)}`, eventTypes: ['invoice.finalized'] },
      'url',
      /at most 2048 bytes/,
    ],
    ['ftp', { url: 'ftp://127.0.0.1/x', eventTypes: ['invoice.finalized'] }, 'url', /scheme ftp/],
    [
      'file',
      { url: 'file:///etc/passwd', eventTypes: ['invoice.finalized'] },
      'url',
      /scheme file/,
    ],
    [
      'non-ASCII host',
      { url: 'https://bücher.example/x', eventTypes: ['invoice.finalized'] },
      'url',
      /ASCII/,
    ],
    [
      'private address',
      { url: 'http://10.0.0.7/x', eventTypes: ['invoice.finalized'] },
      'url',
      /private/,
    ],
    [
      'link-local metadata',
      { url: 'http://169.254.169.254/x', eventTypes: ['invoice.finalized'] },
      'url',
      /link-local/,
    ],
    ['URL as a number', { url: 7, eventTypes: ['invoice.finalized'] }, 'url', /must be a string/],
    ['no event types', { url: 'http://127.0.0.1/x', eventTypes: [] }, 'eventTypes', /non-empty/],
    [
      'unknown event type',
      { url: 'http://127.0.0.1/x', eventTypes: ['invoice.paid'] },
      'eventTypes[0]',
      /must be one of/,
    ],
    [
      'duplicated event type',
      { url: 'http://127.0.0.1/x', eventTypes: ['invoice.finalized', 'invoice.finalized'] },
      'eventTypes[1]',
      /twice/,
    ],
    [
      'description with NUL',
      { url: 'http://127.0.0.1/x', eventTypes: ['invoice.finalized'], description: 'a\u0000' },
      'description',
      /control/,
    ],
    ['body an array', [], 'body', /JSON object/],
  ];
  for (const [name, body, field, message] of bad) {
    test(`refused with 400 naming the field: ${name}`, async () => {
      const r = await h.call('POST', '/v1/webhook-endpoints', { body });
      assert.equal(r.status, 400, r.text);
      const json = r.json as { code: string; field: string; detail: string };
      assert.equal(json.code, 'VALIDATION_FAILED');
      assert.equal(json.field, field);
      assert.match(json.detail, message);
    });
  }
});

describe('deliveries', () => {
  let provider: Endpoint;
  let failing: Endpoint;

  test('each event is delivered signed, through failures, a timeout and a recovery, and processed once', async () => {
    provider = await register({
      url: receiver.url,
      eventTypes: ['invoice.finalized', 'webhook_endpoint.disabled'],
      description: 'ERP',
    });
    receiver.secrets = [provider.secret!];
    // 500 (not processed), no answer (timeout), processed but 500 (so it comes again), then ok.
    receiver.script = ['fail', 'hang', 'process-then-fail'];
    const close = await h.call('POST', '/v1/periods/2026-10/close');
    assert.equal(close.status, 200, close.text);
    const ids = TENANTS.map((t) => invoiceEventIdOf('invoice.finalized', [t, '2026-10']));
    await waitFor(() => ids.every((id) => receiver.acknowledged.get(id) === 1), {
      timeoutMs: 20_000,
      description: 'every invoice.finalized acknowledged',
    });
    for (const id of ids) {
      assert.equal(receiver.processed.get(id), 1, `${id} processed once`);
      assert.equal(receiver.acknowledged.get(id), 1, `${id} acknowledged once`);
    }
    assert.equal(receiver.processed.size, 3);
    assert.ok(receiver.requests.length >= 6, 'three failed attempts were retried');
    assert.ok(
      receiver.requests.every((r) => r.accepted),
      'every delivery verified',
    );
    const log = await deliveries(provider.id);
    await waitFor(
      async () => (await deliveries(provider.id)).every((d) => d.status === 'delivered'),
      {
        timeoutMs: 5_000,
        description: 'log says delivered',
      },
    );
    const final = await deliveries(provider.id);
    assert.equal(log.length, 3);
    assert.equal(
      final.reduce((n, d) => n + d.attempts, 0),
      receiver.requests.length,
    );
    for (const d of final) {
      assert.equal(d.lastStatusCode, 200);
      assert.equal(d.lastResponse, 'ok');
      assert.ok(d.lastLatencyMs !== null && d.lastLatencyMs >= 0);
    }
    assert.ok(final.some((d) => d.attempts > 1));
    // Nothing more arrives: a 2xx ends a delivery.
    const before = receiver.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(receiver.requests.length, before);
  });

  test('the log keeps the first 1 KiB of a failed answer and the attempt count', async () => {
    receiver.script = ['fail'];
    await h.db.query(`UPDATE webhook_delivery SET status = 'delivered'`); // keep only the new one
    const one = (await deliveries(provider.id))[0]!;
    const r = await h.call('POST', `/v1/webhook-deliveries/${one.id}/redeliver`);
    assert.equal(r.status, 202, r.text);
    await waitFor(
      async () =>
        (await deliveries(provider.id)).find((d) => d.id === one.id)!.attempts >= one.attempts + 2,
      {
        timeoutMs: 10_000,
        description: 'a failed then a successful attempt',
      },
    );
    const after = (
      await h.db.query<{ n: number; last: string | null }[]>(
        `SELECT attempts AS n, last_response AS last FROM webhook_delivery WHERE id = $1`,
        [one.id],
      )
    )[0]!;
    assert.equal(after.last, 'ok');
    // The failed attempt's answer was cut at 1 KiB (3000 bytes sent).
    assert.ok(receiver.requests.length > 0);
    assert.equal(receiver.processed.get(one.eventId), 1, 'redelivered, still processed once');
    assert.equal(receiver.acknowledged.get(one.eventId), 2, 'the manual redelivery was delivered');
  });

  test('a failing attempt stores at most 1 KiB of the answer', async () => {
    receiver.script = ['fail', 'fail'];
    const one = (await deliveries(provider.id))[1]!;
    await h.call('POST', `/v1/webhook-deliveries/${one.id}/redeliver`);
    await waitFor(
      async () => {
        const rows = await h.db.query<{ r: string | null; c: number | null }[]>(
          `SELECT last_response AS r, last_status_code AS c FROM webhook_delivery WHERE id = $1`,
          [one.id],
        );
        return rows[0]!.c === 500 ? rows[0]! : undefined;
      },
      { timeoutMs: 10_000, description: 'a 500 logged' },
    );
    const rows = await h.db.query<{ r: string }[]>(
      `SELECT last_response AS r FROM webhook_delivery WHERE id = $1`,
      [one.id],
    );
    assert.equal(rows[0]!.r, 'x'.repeat(1024));
    await waitFor(
      async () =>
        (await deliveries(provider.id)).find((d) => d.id === one.id)!.status === 'delivered',
      {
        timeoutMs: 10_000,
        description: 'recovered',
      },
    );
  });

  test('a rotated secret: both signatures during the overlap, either verifies', async () => {
    const r = await h.call('POST', `/v1/webhook-endpoints/${provider.id}/rotate-secret`, {
      body: { overlapSeconds: 3600 },
    });
    assert.equal(r.status, 200, r.text);
    const rotated = r.json as Endpoint;
    assert.notEqual(rotated.secret, provider.secret);
    assert.ok(rotated.previousSecretExpiresAt !== null);
    receiver.secrets = [provider.secret!]; // the receiver has not switched yet
    const one = (await deliveries(provider.id))[2]!;
    const seen = receiver.requests.length;
    await h.call('POST', `/v1/webhook-deliveries/${one.id}/redeliver`);
    await waitFor(() => receiver.requests.length > seen, {
      timeoutMs: 10_000,
      description: 'redelivered',
    });
    const request = receiver.requests[seen]!;
    assert.equal(request.accepted, true, 'the old secret still verifies');
    assert.equal(request.signature.split('v1=').length, 3, 'two signatures');
    receiver.secrets = [rotated.secret!];
    const seen2 = receiver.requests.length;
    await h.call('POST', `/v1/webhook-deliveries/${one.id}/redeliver`);
    await waitFor(() => receiver.requests.length > seen2, {
      timeoutMs: 10_000,
      description: 'redelivered',
    });
    assert.equal(receiver.requests[seen2]!.accepted, true, 'the new secret verifies');
    const bad = await h.call('POST', `/v1/webhook-endpoints/${provider.id}/rotate-secret`, {
      body: { overlapSeconds: -1 },
    });
    assert.equal(bad.status, 400);
    assert.equal((bad.json as { field: string }).field, 'overlapSeconds');
    provider = { ...provider, secret: rotated.secret };
  });

  test('an endpoint failing persistently is disabled, and an event says so', async () => {
    broken.secrets = ['unused'];
    broken.script = Array.from({ length: 100 }, () => 'fail' as const);
    failing = await register({
      url: broken.url,
      eventTypes: ['invoice.finalized'],
      tenantId: 'acme',
    });
    broken.secrets = [failing.secret!];
    const close = await h.call('POST', '/v1/periods/2026-11/close');
    assert.equal(close.status, 200, close.text);
    await waitFor(
      async () =>
        ((await h.call('GET', `/v1/webhook-endpoints/${failing.id}`)).json as Endpoint).status ===
        'disabled',
      { timeoutMs: 15_000, description: 'endpoint disabled' },
    );
    const disabledId = await waitFor(
      () =>
        [...receiver.bodies.values()].find(
          (b) => (b as { type: string }).type === 'webhook_endpoint.disabled',
        ),
      {
        timeoutMs: 15_000,
        description: 'webhook_endpoint.disabled delivered to the provider endpoint',
      },
    );
    const event = disabledId as {
      tenantId: string;
      data: { endpoint: { id: string; url: string } };
    };
    assert.equal(event.tenantId, 'acme');
    assert.equal(event.data.endpoint.id, failing.id);
    assert.ok(
      broken.requests.length >= 4 && broken.requests.length <= 6,
      `${broken.requests.length} attempts`,
    );
    const log = await deliveries(failing.id);
    assert.ok(log.every((d) => d.status === 'failed'));
    const redeliver = await h.call('POST', `/v1/webhook-deliveries/${log[0]!.id}/redeliver`);
    assert.equal(redeliver.status, 409);
    assert.equal((redeliver.json as { code: string }).code, 'WEBHOOK_ENDPOINT_DISABLED');
    const enabled = await h.call('POST', `/v1/webhook-endpoints/${failing.id}/enable`);
    assert.equal((enabled.json as Endpoint).status, 'enabled');
  });

  test('a delivery id that is not a number, or unknown, is 404', async () => {
    for (const id of ['abc', '99999999', '1'.repeat(40)]) {
      const r = await h.call('POST', `/v1/webhook-deliveries/${id}/redeliver`);
      assert.equal(r.status, 404, id);
    }
  });
});
