import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { localInfra, SocketProxy, waitFor } from '@metering/testing';
import { BillingHarness } from './billing-harness';

// The probes against a real billing-api and a real PostgreSQL: liveness never depends on the
// database, readiness does and recovers by itself, and no probe is ever rate limited.

const PROBES = ['/livez', '/readyz', '/healthz', '/metrics'] as const;

interface Report {
  probe: string;
  status: string;
  checks: Record<string, { status: string; probe: string; detail?: { error?: string } }>;
}

async function statusesOf(h: BillingHarness, paths: readonly string[]): Promise<number[]> {
  const answers = await Promise.all(paths.map((path) => h.call('GET', path, { key: null })));
  return answers.map((a) => a.status);
}

describe('probes are never rate limited', () => {
  const h = new BillingHarness();
  before(() => h.start({ RATE_LIMIT: '5', RATE_LIMIT_WINDOW_MS: '60000' }));
  after(() => h.stop());

  test('80 times the limit in probes: never 429, and they do not use up the API budget', async () => {
    const seen = new Map<number, number>();
    const count = (statuses: number[]): void => {
      for (const s of statuses) seen.set(s, (seen.get(s) ?? 0) + 1);
    };
    // 400 requests, 20 at a time, within a few seconds: the window is a minute, the limit 5.
    for (let round = 0; round < 20; round++) {
      count(
        await statusesOf(
          h,
          Array.from({ length: 20 }, (_, i) => PROBES[i % 4] ?? '/livez'),
        ),
      );
    }
    assert.deepEqual([...seen], [[200, 400]]);

    // The API route is limited as before, and the probes did not count towards it.
    const api: number[] = [];
    for (let i = 0; i < 6; i++) api.push((await h.call('GET', '/v1/tenants/nobody')).status);
    assert.deepEqual(api, [404, 404, 404, 404, 404, 429]);

    // Probes still answer while the API is limited for this client.
    const after = await statusesOf(
      h,
      Array.from({ length: 40 }, (_, i) => PROBES[i % 4] ?? '/livez'),
    );
    assert.ok(
      after.every((s) => s === 200),
      after.join(),
    );
    assert.equal((await h.call('GET', '/v1/tenants/nobody')).status, 429);
  });
});

describe('PostgreSQL outage: not ready, still alive, ready again once it is back', () => {
  const target = new URL(localInfra.postgresUrl);
  const proxy = new SocketProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const h = new BillingHarness();

  before(async () => {
    await proxy.start();
    const proxied = new URL(localInfra.postgresUrl);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    await h.start({ DATABASE_URL: proxied.toString() });
  });
  after(async () => {
    await proxy.stop();
    await h.stop();
  });

  const probe = async (path: string): Promise<{ status: number; report: Report; ms: number }> => {
    const started = Date.now();
    const answer = await h.call('GET', path, { key: null });
    return { status: answer.status, report: answer.json as Report, ms: Date.now() - started };
  };

  test('every probe is up while PostgreSQL answers through the proxy', async () => {
    for (const path of ['/livez', '/readyz', '/healthz']) {
      assert.equal((await probe(path)).status, 200, path);
    }
    const ready = await probe('/readyz');
    assert.equal(ready.report.checks.database?.status, 'up');
    assert.equal(ready.report.checks.database?.probe, 'readiness');
    assert.deepEqual(Object.keys((await probe('/livez')).report.checks), []);
  });

  test('cut: /readyz and /healthz 503 naming the database, /livez stays 200 and fast', async () => {
    await proxy.stop();
    const down = await waitFor(
      async () => {
        const r = await probe('/readyz');
        return r.status === 503 ? r : undefined;
      },
      { timeoutMs: 15_000, description: '/readyz 503 after the cut' },
    );
    assert.equal(down.report.status, 'down');
    assert.equal(down.report.checks.database?.status, 'down');
    assert.match(String(down.report.checks.database?.detail?.error), /\S/);
    assert.ok(!JSON.stringify(down.report).includes('    at '), 'no stack trace');
    const healthz = await probe('/healthz');
    assert.equal(healthz.status, 503);
    assert.equal(healthz.report.checks.database?.status, 'down');

    for (let i = 0; i < 20; i++) {
      const live = await probe('/livez');
      assert.equal(live.status, 200);
      assert.equal(live.report.status, 'up');
      assert.ok(live.ms < 1_000, `/livez took ${live.ms} ms`);
    }
    // The API itself cannot answer without its database, and says so without a 2xx.
    assert.ok((await h.call('GET', '/v1/tenants/nobody')).status >= 500);
  });

  test('restored: ready again by itself, and the API answers', async () => {
    await proxy.start();
    await waitFor(async () => (await probe('/readyz')).status === 200, {
      timeoutMs: 15_000,
      description: '/readyz 200 after the database came back',
    });
    assert.equal((await probe('/healthz')).status, 200);
    assert.equal((await probe('/livez')).status, 200);
    assert.equal((await h.call('GET', '/v1/tenants/nobody')).status, 404);
  });
});
