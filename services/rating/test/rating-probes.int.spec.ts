import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { freePort, localInfra, SocketProxy, waitFor } from '@metering/testing';
import { RatingWorld, encodeAll, expectedLedger } from './rating-harness';
import { generateSamples } from './sample-stream';

// The real rating process reaches PostgreSQL through a loopback proxy this test cuts for a
// while: rating becomes not ready (naming the database) and stays alive — the same process,
// never restarted — then ready again by itself, and it rates what arrived meanwhile exactly.
const ZONES = { acme: 'UTC' };
const START = Date.UTC(2026, 9, 31, 20, 0, 0);

const world = new RatingWorld();
const target = new URL(localInfra.postgresUrl);
const proxy = new SocketProxy({ host: target.hostname, port: Number(target.port || 5432) });
let rating: ChildProcess | undefined;
let baseUrl = '';

interface Report {
  status: string;
  checks: Record<string, { status: string; probe: string; detail?: { error?: string } }>;
}

async function probe(path: string): Promise<{ status: number; report: Report }> {
  const response = await fetch(`${baseUrl}${path}`);
  return { status: response.status, report: (await response.json()) as Report };
}

before(async () => {
  await world.setUp(2, ZONES);
  await proxy.start();
  const proxied = new URL(localInfra.postgresUrl);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  const port = await freePort();
  rating = world.startRating('probes', { DATABASE_URL: proxied.toString(), PORT: String(port) });
  baseUrl = `http://127.0.0.1:${port}`;
});

after(async () => {
  await proxy.stop();
  await world.tearDown();
});

test('PostgreSQL away: not ready naming the database, alive all along, then rates exactly', async () => {
  await waitFor(async () => (await probe('/readyz')).status === 200, {
    timeoutMs: 60_000,
    description: 'rating ready',
  });
  const live = await probe('/livez');
  assert.equal(live.status, 200);
  assert.deepEqual(Object.keys(live.report.checks), ['consumer-loop']);
  const pid = rating!.pid;

  await proxy.stop();
  const down = await waitFor(
    async () => {
      const r = await probe('/readyz');
      return r.status === 503 ? r : undefined;
    },
    { timeoutMs: 15_000, description: '/readyz 503 with PostgreSQL away' },
  );
  assert.equal(down.report.checks.database?.status, 'down');
  assert.match(String(down.report.checks.database?.detail?.error), /\S/);
  // Samples arrive during the outage: rating cannot commit them, and must not die of it.
  const samples = generateSamples({
    seed: 7,
    tenants: Object.keys(ZONES),
    resources: 4,
    samplesPerResource: 20,
    startMs: START,
  });
  await world.produce(encodeAll(samples), (i) => samples[i]!.resource.id);
  for (let i = 0; i < 10; i++) {
    const alive = await probe('/livez');
    assert.equal(alive.status, 200, JSON.stringify(alive.report));
    assert.equal(rating!.exitCode, null, 'the process is still running');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  assert.equal((await probe('/healthz')).status, 503);

  await proxy.start();
  await waitFor(async () => (await probe('/readyz')).status === 200, {
    timeoutMs: 30_000,
    description: '/readyz 200 once PostgreSQL is back',
  });
  await world.waitForCatchUp(60_000);
  assert.deepEqual(await world.ledger(), expectedLedger(samples, ZONES), 'the ledger is exact');
  assert.equal(rating!.pid, pid);
  assert.equal(rating!.exitCode, null, 'never restarted');
});
