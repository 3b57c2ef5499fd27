import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { type InfluxTarget } from '../config';
import { InfluxHttpWriter, InfluxWriteError } from './influx.writer';

// The v1 writer against an InfluxDB stand-in on loopback that answers like InfluxDB 1.8 with
// auth-enabled (measured: a user with WRITE only gets 403 "requires admin privilege" for CREATE
// DATABASE, 204 for a write; no or wrong credentials get 401).

interface Seen {
  path: string;
  authorization: string | undefined;
  body: string;
}

async function withInflux(
  answer: (path: string, seen: Seen[]) => [number, string],
  run: (url: string, seen: Seen[]) => Promise<void>,
): Promise<void> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      seen.push({ path, authorization: req.headers.authorization, body });
      const [status, text] = answer(path, seen);
      res.writeHead(status, { 'content-type': 'application/json' }).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await run(`http://127.0.0.1:${port}`, seen);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const target = (url: string, password = 'pw-ünïcode-Δ'): InfluxTarget => ({
  api: 'v1',
  url,
  database: 'metering',
  retentionPolicy: null,
  username: 'rating',
  password,
  token: null,
});

const FORBIDDEN = JSON.stringify({
  error:
    "error authorizing query: rating not authorized to execute statement 'CREATE DATABASE metering', requires admin privilege",
});

describe('InfluxHttpWriter with a write-only user', () => {
  test('CREATE DATABASE refused (403): it writes anyway, once asked, with its credentials', async () => {
    await withInflux(
      (path) => (path === '/query' ? [403, FORBIDDEN] : [204, '']),
      async (url, seen) => {
        const writer = new InfluxHttpWriter(target(url), 2_000);
        await writer.write(['usage cpu=1 1700000000000']);
        await writer.write(['usage cpu=2 1700000001000']);
        assert.deepEqual(
          seen.map((s) => s.path),
          ['/query', '/write', '/write'],
        );
        const basic = `Basic ${Buffer.from('rating:pw-ünïcode-Δ').toString('base64')}`;
        assert.ok(seen.every((s) => s.authorization === basic));
        assert.equal(seen[2]?.body, 'usage cpu=2 1700000001000');
      },
    );
  });

  test('a database nobody created: the write fails with 404 (retriable) and asks again next time', async () => {
    await withInflux(
      (path) =>
        path === '/query'
          ? [403, FORBIDDEN]
          : [404, '{"error":"database not found: \\"metering\\""}'],
      async (url, seen) => {
        const writer = new InfluxHttpWriter(target(url), 2_000);
        for (let i = 0; i < 2; i++) {
          await assert.rejects(
            writer.write(['usage cpu=1 1700000000000']),
            (e: unknown) => e instanceof InfluxWriteError && e.status === 404 && e.retriable,
          );
        }
        assert.deepEqual(
          seen.map((s) => s.path),
          ['/query', '/write', '/query', '/write'],
        );
      },
    );
  });

  test('wrong credentials (401) are not retriable, and the password is in no message', async () => {
    const password = 'secret-value-4f9c1e7a2b';
    await withInflux(
      () => [401, '{"error":"authorization failed"}'],
      async (url) => {
        const writer = new InfluxHttpWriter(target(url, password), 2_000);
        await assert.rejects(
          writer.write(['usage cpu=1 1700000000000']),
          (e: unknown) =>
            e instanceof InfluxWriteError &&
            e.status === 401 &&
            !e.retriable &&
            !e.message.includes(password),
        );
      },
    );
  });

  test('another refusal of CREATE DATABASE (500) still stops the write', async () => {
    await withInflux(
      (path) => (path === '/query' ? [500, '{"error":"engine down"}'] : [204, '']),
      async (url, seen) => {
        const writer = new InfluxHttpWriter(target(url), 2_000);
        await assert.rejects(
          writer.write(['usage cpu=1 1700000000000']),
          (e: unknown) => e instanceof InfluxWriteError && e.status === 500 && e.retriable,
        );
        assert.deepEqual(
          seen.map((s) => s.path),
          ['/query'],
        );
      },
    );
  });
});
