import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decimal } from '@metering/money';
import { freePort, localInfra, waitFor } from '@metering/testing';
import { RatingWorld, encodeAll, expectedLedger, influxQuery } from './rating-harness';
import { generateSamples } from './sample-stream';

// InfluxDB going away mid-run must not touch the ledger, and the backfill command must bring
// InfluxDB back to exactly what the ledger says. This test stops and starts its OWN influxd
// (infra/local/influxdb.sh with its own state folder and ports), never the shared one.
const repoRoot = join(__dirname, '..', '..', '..', '..');
const backfillMain = join(__dirname, '..', 'src', 'backfill.main.js');
const ZONES = { acme: 'UTC', globex: 'Asia/Kolkata' };
const START = Date.UTC(2026, 9, 31, 22, 0, 0);

class OwnInflux {
  readonly stackDir = mkdtempSync(join(tmpdir(), 'rating-influx-'));
  port = 0;
  rpcPort = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async allocate(): Promise<void> {
    this.port = await freePort();
    this.rpcPort = await freePort();
  }

  run(action: 'start' | 'stop'): void {
    const r = spawnSync('bash', [join(repoRoot, 'infra/local/influxdb.sh'), action], {
      env: {
        ...process.env,
        STACK_DIR: this.stackDir,
        INFLUX_PORT: String(this.port),
        INFLUX_RPC_PORT: String(this.rpcPort),
        READY_TIMEOUT: '60',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    });
    if (r.status !== 0) {
      throw new Error(`influxdb.sh ${action} failed: ${String(r.stderr)} ${String(r.stdout)}`);
    }
  }

  dispose(): void {
    try {
      this.run('stop');
    } finally {
      rmSync(this.stackDir, { recursive: true, force: true });
    }
  }
}

const influx = new OwnInflux();
let world: RatingWorld | undefined;

before(async () => {
  await influx.allocate();
  influx.run('start');
});

after(async () => {
  await world?.tearDown();
  influx.dispose();
});

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

type Row = Record<string, unknown>;
async function points(measurement: string, db: string): Promise<Row[]> {
  const [series] = await influxQuery(influx.url, `SELECT * FROM "${measurement}"`, db);
  if (series === undefined) return [];
  return series.values.map((v) => Object.fromEntries(series.columns.map((c, i) => [c, v[i]])));
}

describe('rating: InfluxDB down mid-run, then the backfill', () => {
  test('the ledger stays exact while InfluxDB is down; the backfill restores every point from it', async () => {
    world = new RatingWorld();
    world.influxUrl = influx.url;
    const db = world.influxDatabase;
    await world.setUp(3, ZONES);
    await world.assignPlan(
      ['acme'],
      {
        id: 'std',
        version: 1,
        basis: 'usage',
        cpu: [
          { upTo: '1', unitPrice: '0.04' },
          { upTo: null, unitPrice: '0.03' },
        ],
        memory: [{ upTo: null, unitPrice: '0.005' }],
      },
      '2026-01-01T00:00:00Z',
    );
    const samples = generateSamples({
      seed: 41,
      tenants: Object.keys(ZONES),
      resources: 24,
      samplesPerResource: 150,
      startMs: START,
    });
    await world.produce(encodeAll(samples), (i) => samples[i]!.resource.id);

    const metricsPort = await freePort();
    const rating = world.startRating('influx', {
      PORT: String(metricsPort),
      INFLUX_FLUSH_INTERVAL_MS: '100',
      // Slow batches: InfluxDB stops while most of the stream is still to come.
      MAX_BYTES_PER_PARTITION: '16384',
    });
    await waitFor(async () => (await points('usage', db)).length > 0, {
      timeoutMs: 60_000,
      description: 'usage points in InfluxDB',
    });
    assert.ok((await points('resource', db)).length > 0, 'raw gauges are written too');
    influx.run('stop');

    await world.waitForCatchUp(180_000);
    assert.deepEqual(await world.ledger(), expectedLedger(samples, ZONES), 'the ledger is exact');
    await waitFor(
      async () => (await metric(metricsPort, 'rating_influx_write_failures_total')) > 0,
      {
        timeoutMs: 30_000,
        description: 'failed writes counted',
      },
    );
    // Everything priced: the pieces it held for its own passes are let go (the gauge says so).
    await waitFor(
      async () =>
        /^rating_pricing_held_pieces\{[^}]*\} 0$/m.test(
          await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
        ),
      { timeoutMs: 30_000, description: 'rating_pricing_held_pieces 0 once all is priced' },
    );
    // What the rating process still holds in memory is not what we test: the backfill is.
    await world.kill(rating, 'SIGKILL');
    influx.run('start');

    const rows = await world.bucketRows();
    const key = (tenant: unknown, resource: unknown, time: unknown) =>
      `${String(tenant)}|${String(resource)}|${String(time)}`;
    const expected = new Map(
      rows.map((r) => [
        key(r.tenant, r.resource, r.startMs),
        {
          cpu_core_seconds: Number(r.cpu.toString()),
          memory_gib_seconds: Number(r.memoryByteSeconds.toString()) / 2 ** 30,
          amount: Number(r.amount.toString()),
          completeness: r.observedMs + r.gapMs === 0 ? 1 : r.observedMs / (r.observedMs + r.gapMs),
          kind: r.kind,
        },
      ]),
    );
    const actual = async () =>
      new Map(
        (await points('usage', db)).map((p) => [
          key(p.tenant, p.resource, p.time),
          {
            cpu_core_seconds: p.cpu_core_seconds,
            memory_gib_seconds: p.memory_gib_seconds,
            amount: p.amount,
            completeness: p.completeness,
            kind: p.kind,
          },
        ]),
      );
    assert.notDeepEqual(
      await actual(),
      expected,
      'InfluxDB missed what happened while it was down',
    );

    const from = Math.min(...rows.map((r) => r.startMs));
    const to = Math.max(...rows.map((r) => r.startMs)) + 3_600_000;
    const backfill = spawn(
      process.execPath,
      [
        backfillMain,
        '--from',
        new Date(from).toISOString(),
        '--to',
        new Date(to).toISOString(),
        '--page-size',
        '100',
      ],
      {
        env: {
          ...process.env,
          DATABASE_URL: localInfra.postgresUrl,
          DATABASE_SCHEMA: world.schema,
          INFLUX_URL: influx.url,
          INFLUX_DATABASE: db,
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    backfill.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => backfill.once('exit', resolve));
    assert.equal(code, 0, stderr);
    assert.match(stderr, new RegExp(`${rows.length} buckets`));

    assert.deepEqual(await actual(), expected, 'every usage point equals the ledger');
    const positions = await world.ds.query<
      { tenant_id: string; period: string; cpu: string; memory: string }[]
    >(
      `SELECT tenant_id, period, cpu_amount::text AS cpu, memory_amount::text AS memory FROM tenant_month_position`,
    );
    assert.ok(positions.length > 0);
    const charges = new Map(
      (await points('charges', db)).map((p) => [`${String(p.tenant)}|${String(p.period)}`, p]),
    );
    for (const p of positions) {
      const point = charges.get(`${p.tenant_id}|${p.period}`);
      assert.ok(point !== undefined, `charges of ${p.tenant_id} ${p.period}`);
      assert.equal(point.amount, Number(new Decimal(p.cpu).plus(p.memory).toString()));
      assert.equal(point.currency, 'EUR');
    }
  });
});
