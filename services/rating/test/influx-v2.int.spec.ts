import { type IncomingMessage, type Server, createServer } from 'node:http';
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, waitFor } from '@metering/testing';
import { RatingWorld, encodeAll, expectedLedger } from './rating-harness';
import { generateSamples } from './sample-stream';

// The InfluxDB v2 write path (INFLUX_API=v2: /api/v2/write, org, bucket, token) from the real
// rating process. STAND-IN: this machine's InfluxDB is Debian's 1.6, which has no v2 API, so the
// far end is a small HTTP server here that holds every request to the v2 protocol exactly (method,
// path, query, token header, content type, no compression, line protocol with ms timestamps) and
// keeps points the way InfluxDB does (the last write of a series and time wins). What rating
// wrote is compared with the ledger. InfluxDB 1.x's v1 API is tested against the real influxd
// (rating-influx.int.spec.ts, infra/grafana-test).
const TOKEN = 'v2-token_0123456789-ABCDEF==';
const ORG = 'provider org';
const BUCKET = 'metering/usage';
const ZONES = { acme: 'UTC', 'Ωμέγα 株式,会社=1': 'Asia/Tokyo' };
const START = Date.UTC(2026, 9, 31, 22, 0, 0);

/** A line-protocol line: series (measurement and tags, escaped), fields, timestamp. */
interface Line {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, number>;
  time: string;
}

/** Splits at unescaped `sep`, keeping the escapes (line protocol escapes with a backslash). */
function splitUnescaped(text: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[++i]!;
    } else if (c === sep) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

function unescape(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}

/** Indexes of unescaped spaces: series, fields and timestamp are separated by them. */
function parseLine(line: string): Line {
  const spaces: number[] = [];
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\') i++;
    else if (line[i] === ' ') spaces.push(i);
  }
  if (spaces.length !== 2) throw new Error(`not series fields time: ${line}`);
  const [series, fieldText, time] = [
    line.slice(0, spaces[0]),
    line.slice(spaces[0]! + 1, spaces[1]),
    line.slice(spaces[1]! + 1),
  ];
  if (!/^\d{13}$/.test(time)) throw new Error(`not a ms timestamp: ${time}`);
  const [measurement, ...tagParts] = splitUnescaped(series, ',');
  const tags = Object.fromEntries(
    tagParts.map((t) => {
      const kv = splitUnescaped(t, '=');
      if (kv.length !== 2) throw new Error(`a tag that is not key=value: ${t}`);
      return [unescape(kv[0]!), unescape(kv[1]!)];
    }),
  );
  const fields = Object.fromEntries(
    splitUnescaped(fieldText, ',').map((f) => {
      const kv = splitUnescaped(f, '=');
      const n = Number(kv[1]);
      if (kv.length !== 2 || !Number.isFinite(n)) throw new Error(`not a float field: ${f}`);
      return [unescape(kv[0]!), n];
    }),
  );
  return { measurement: unescape(measurement!), tags, fields, time };
}

/** The stand-in v2 endpoint. */
class V2StandIn {
  readonly points = new Map<string, Line>();
  readonly violations: string[] = [];
  requests = 0;
  /** Answers for the next requests, before it accepts (503: retry later; 401: bad token). */
  readonly failNext: number[] = [];
  private server: Server | undefined;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.port = await freePort();
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        ({ status, body }) =>
          res.writeHead(status, { 'content-type': 'application/json' }).end(body),
        (error: unknown) => {
          this.violations.push(String(error));
          res.writeHead(400).end(JSON.stringify({ code: 'invalid', message: String(error) }));
        },
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: string }> {
    this.requests++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', this.url);
    const problems: string[] = [];
    if (req.method !== 'POST') problems.push(`method ${req.method}`);
    if (url.pathname !== '/api/v2/write') problems.push(`path ${url.pathname}`);
    const query = [...url.searchParams.entries()].sort();
    const want = [
      ['bucket', BUCKET],
      ['org', ORG],
      ['precision', 'ms'],
    ];
    if (JSON.stringify(query) !== JSON.stringify(want)) problems.push(`query ${url.search}`);
    if (req.headers['content-encoding'] !== undefined) problems.push('compressed');
    if (!/^text\/plain; charset=utf-8$/i.test(req.headers['content-type'] ?? '')) {
      problems.push(`content-type ${req.headers['content-type']}`);
    }
    const failure = this.failNext.shift();
    if (failure !== undefined) return { status: failure, body: '{"code":"unavailable"}' };
    if (req.headers.authorization !== `Token ${TOKEN}`) {
      return { status: 401, body: '{"code":"unauthorized","message":"unauthorized access"}' };
    }
    if (problems.length > 0) throw new Error(problems.join('; '));
    const text = Buffer.concat(chunks).toString('utf8');
    for (const raw of text.split('\n')) {
      if (raw === '') continue;
      const line = parseLine(raw);
      const series = `${line.measurement}\u0000${JSON.stringify(Object.entries(line.tags).sort())}`;
      const previous = this.points.get(`${series}\u0000${line.time}`);
      // InfluxDB merges the fields of a point written again at the same series and time.
      this.points.set(`${series}\u0000${line.time}`, {
        ...line,
        fields: { ...previous?.fields, ...line.fields },
      });
    }
    return { status: 204, body: '' };
  }

  usage(): Map<string, Record<string, number>> {
    return new Map(
      [...this.points.values()]
        .filter((p) => p.measurement === 'usage')
        .map((p) => [`${p.tags.tenant}|${p.tags.resource}|${p.time}`, p.fields]),
    );
  }
}

let world: RatingWorld | undefined;
let standIn: V2StandIn | undefined;
afterEach(async () => {
  await world?.tearDown();
  await standIn?.stop();
  world = undefined;
  standIn = undefined;
});

function v2Env(s: V2StandIn, token: string): Record<string, string> {
  return {
    INFLUX_API: 'v2',
    INFLUX_URL: `${s.url}/`,
    INFLUX_ORG: ORG,
    INFLUX_BUCKET: BUCKET,
    INFLUX_TOKEN: token,
    INFLUX_FLUSH_INTERVAL_MS: '100',
    INFLUX_RETRY_MAX_DELAY_MS: '200',
  };
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

describe('rating → InfluxDB v2 API (a stand-in that checks the protocol)', () => {
  test('every point of the ledger arrives under the v2 protocol, after a 503 is retried; tags escaped', async () => {
    standIn = new V2StandIn();
    await standIn.start();
    standIn.failNext.push(503, 503);
    world = new RatingWorld();
    const w = world;
    await w.setUp(2, ZONES);
    await w.assignPlan(
      Object.keys(ZONES),
      {
        id: 'std',
        version: 1,
        basis: 'usage',
        cpu: [{ upTo: null, unitPrice: '0.04' }],
        memory: [{ upTo: null, unitPrice: '0.005' }],
      },
      '2026-01-01T00:00:00Z',
    );
    const samples = generateSamples({
      seed: 7,
      tenants: Object.keys(ZONES),
      resources: 8,
      samplesPerResource: 60,
      startMs: START,
    });
    await w.produce(encodeAll(samples), (i) => samples[i]!.resource.id);
    const port = await freePort();
    w.startRating('v2', { PORT: String(port), ...v2Env(standIn, TOKEN) });
    await w.waitForCatchUp(120_000);
    assert.deepEqual(await w.ledger(), expectedLedger(samples, ZONES));

    const rows = await w.bucketRows();
    const expected = new Map(
      rows.map((r) => [
        `${r.tenant}|${r.resource}|${r.startMs}`,
        {
          amount: Number(r.amount.toString()),
          completeness: r.observedMs + r.gapMs === 0 ? 1 : r.observedMs / (r.observedMs + r.gapMs),
          cpu_core_seconds: Number(r.cpu.toString()),
          memory_gib_seconds: Number(r.memoryByteSeconds.toString()) / 2 ** 30,
        },
      ]),
    );
    const s = standIn;
    const same = () =>
      JSON.stringify([...s.usage()].sort()) === JSON.stringify([...expected].sort());
    await waitFor(() => Promise.resolve(same()), {
      timeoutMs: 60_000,
      intervalMs: 250,
      description: 'the stand-in to hold every usage point of the ledger',
    }).catch(() => undefined);
    assert.deepEqual(new Map([...s.usage()].sort()), new Map([...expected].sort()));
    assert.deepEqual(s.violations, []);
    assert.ok(s.requests >= 3, `the two 503s were retried (${s.requests} requests)`);
    const tenants = new Set([...s.points.values()].map((p) => p.tags.tenant));
    assert.deepEqual([...tenants].sort(), Object.keys(ZONES).sort(), 'tags survive escaping');
    const resourcePoints = [...s.points.values()].filter((p) => p.measurement === 'resource');
    assert.ok(resourcePoints.length > 0 && resourcePoints.length <= samples.length, 'raw gauges');
    assert.ok(
      [...s.points.values()].some((p) => p.measurement === 'charges' && p.tags.currency === 'EUR'),
      'month-to-date charges',
    );
    assert.ok((await metric(port, 'rating_influx_write_failures_total')) >= 2);
    assert.equal(await metric(port, 'rating_influx_points_dropped_total'), 0);
  });

  test('a wrong token is refused (401): points are dropped and counted, never retried for ever; the ledger is exact', async () => {
    standIn = new V2StandIn();
    await standIn.start();
    world = new RatingWorld();
    const w = world;
    await w.setUp(1, { acme: 'UTC' });
    const samples = generateSamples({
      seed: 8,
      tenants: ['acme'],
      resources: 3,
      samplesPerResource: 20,
      startMs: START,
    });
    await w.produce(encodeAll(samples), (i) => samples[i]!.resource.id);
    const port = await freePort();
    w.startRating('v2-401', { PORT: String(port), ...v2Env(standIn, 'not-the-token') });
    await w.waitForCatchUp(60_000);
    assert.deepEqual(await w.ledger(), expectedLedger(samples, { acme: 'UTC' }));
    await waitFor(async () => (await metric(port, 'rating_influx_points_dropped_total')) > 0, {
      timeoutMs: 30_000,
      description: 'dropped points counted',
    });
    const requests = standIn.requests;
    assert.equal(standIn.points.size, 0);
    assert.deepEqual(standIn.violations, []);
    // No retry loop against a 401: a few more flushes at most, not one per retry delay.
    await new Promise((r) => setTimeout(r, 1_000));
    assert.ok(standIn.requests - requests <= 12, `${standIn.requests - requests} requests after`);
  });
});
