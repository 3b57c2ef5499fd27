import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Point } from '@influxdata/influxdb-client';
import { localInfra, uniqueName } from '@metering/testing';

// InfluxDB 1.6.7 (Debian): v1 `/write` with line protocol and InfluxQL `/query`;
// it has no /api/v2/write. Started by infra/local/influxdb.sh.
const influxUrl = localInfra.influxUrl;
const database = uniqueName('infra_smoke');
const requestTimeoutMs = 10_000;
let created = false;

interface InfluxSeries {
  name: string;
  columns: string[];
  values?: unknown[][];
}
interface InfluxQueryResponse {
  results?: { statement_id: number; series?: InfluxSeries[]; error?: string }[];
  error?: string;
}

async function influxQuery(q: string, db?: string): Promise<InfluxSeries[]> {
  const body = new URLSearchParams({ q });
  if (db !== undefined) body.set('db', db);
  const response = await fetch(`${influxUrl}/query`, {
    method: 'POST',
    body,
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  const json = (await response.json()) as InfluxQueryResponse;
  const statementError = json.error ?? json.results?.find((r) => r.error !== undefined)?.error;
  if (!response.ok || statementError !== undefined) {
    throw new Error(`InfluxQL "${q}" failed: HTTP ${response.status} ${statementError ?? ''}`);
  }
  return json.results?.[0]?.series ?? [];
}

/** Rows of the first series as objects keyed by column name. */
function rows(series: InfluxSeries[]): Record<string, unknown>[] {
  const first = series[0];
  if (first === undefined) return [];
  return (first.values ?? []).map((row) =>
    Object.fromEntries(first.columns.map((column, i) => [column, row[i]])),
  );
}

before(async () => {
  await influxQuery(`CREATE DATABASE "${database}"`);
  created = true;
});

after(async () => {
  if (!created) return;
  await influxQuery(`DROP DATABASE "${database}"`);
});

test('line protocol built with Point is written through v1 /write and read back with InfluxQL', async () => {
  // Nanosecond timestamps as strings: they do not fit a JS number.
  const baseNs = BigInt(Date.UTC(2026, 10, 26, 13, 0, 0)) * 1_000_000n;
  const first = new Point('usage')
    .tag('tenant', 'acme')
    .tag('resource', 'web 1,blue') // space and comma must be escaped by Point
    .floatField('cpu_core_seconds', 1.5)
    .floatField('memory_gib_seconds', 0.125)
    .intField('samples', 3)
    .stringField('note', 'say "hi"')
    .timestamp((baseNs + 123_456_789n).toString());
  const second = new Point('usage')
    .tag('tenant', 'acme')
    .tag('resource', 'web 1,blue')
    .floatField('cpu_core_seconds', 2.25)
    .floatField('memory_gib_seconds', 0.5)
    .intField('samples', 4)
    .stringField('note', 'second')
    .timestamp((baseNs + 10_000_000_000n).toString());
  const lines = [first, second].map((point) => point.toLineProtocol());
  assert.ok(lines.every((line) => line !== undefined));

  const write = await fetch(`${influxUrl}/write?db=${encodeURIComponent(database)}&precision=ns`, {
    method: 'POST',
    body: lines.join('\n'),
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  assert.equal(write.status, 204, await write.text());

  // Without `epoch`, times come back as RFC 3339 strings that keep every nanosecond digit.
  const read = rows(
    await influxQuery(
      `SELECT * FROM "usage" WHERE "tenant" = 'acme' AND "resource" = 'web 1,blue' ORDER BY time ASC`,
      database,
    ),
  );
  assert.deepEqual(read, [
    {
      time: '2026-11-26T13:00:00.123456789Z',
      cpu_core_seconds: 1.5,
      memory_gib_seconds: 0.125,
      note: 'say "hi"',
      resource: 'web 1,blue',
      samples: 3,
      tenant: 'acme',
    },
    {
      time: '2026-11-26T13:00:10Z',
      cpu_core_seconds: 2.25,
      memory_gib_seconds: 0.5,
      note: 'second',
      resource: 'web 1,blue',
      samples: 4,
      tenant: 'acme',
    },
  ]);

  const totals = rows(
    await influxQuery(`SELECT SUM("cpu_core_seconds") AS "cpu" FROM "usage"`, database),
  );
  assert.equal(totals[0]?.cpu, 3.75);
});

test('a malformed line is rejected with 400, not silently dropped', async () => {
  const write = await fetch(`${influxUrl}/write?db=${encodeURIComponent(database)}&precision=ns`, {
    method: 'POST',
    body: 'usage,tenant=acme cpu=',
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  assert.equal(write.status, 400);
  assert.match(await write.text(), /unable to parse/);
});
