import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BillingHarness } from './billing-harness';

/**
 * billing-api serving a built portal (a small stand-in for services/portal/dist made here) over
 * real HTTP: caching headers, the CSP and its companions on every answer, client routes answered
 * with index.html, and no way out of the directory (raw requests, so no client normalises the
 * path first: `..`, `%2e%2e`, `%2f`, backslashes, NUL, overlong and undecodable paths).
 */
const root = mkdtempSync(join(tmpdir(), 'portal-static-'));
const dist = join(root, 'dist');
const SECRET = 'SECRET-OUTSIDE-THE-PORTAL-8c1f';
const INDEX =
  '<!doctype html><title>Portal</title><script type="module" src="/portal/assets/app-3f9a1c.js"></script>';
const h = new BillingHarness();

before(async () => {
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), INDEX);
  writeFileSync(join(dist, 'assets', 'app-3f9a1c.js'), 'console.log("portal");\n');
  writeFileSync(join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(dist, '.env'), SECRET);
  writeFileSync(join(root, 'secret.txt'), SECRET);
  await h.start({ PORTAL_DIR: dist });
});
after(async () => {
  await h.stop();
  rmSync(root, { recursive: true, force: true });
});

interface RawAnswer {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** One HTTP/1.1 request with the target exactly as given (fetch would normalise it). */
function raw(target: string, method = 'GET'): Promise<RawAnswer> {
  const { port } = new URL(h.baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(
        Buffer.concat([
          Buffer.from(`${method} `, 'latin1'),
          Buffer.from(target, 'utf8'),
          Buffer.from(' HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', 'latin1'),
        ]),
      );
    });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer to ${target}`)));
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = new Map<string, string>();
      for (const line of lines) {
        const i = line.indexOf(':');
        headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
  });
}

function assertSecurityHeaders(r: RawAnswer, what: string): void {
  assert.equal(
    r.headers.get('content-security-policy'),
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    what,
  );
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff', what);
  assert.equal(r.headers.get('referrer-policy'), 'no-referrer', what);
  assert.equal(r.headers.get('x-frame-options'), 'DENY', what);
}

describe('serving the built portal', () => {
  test('index.html revalidated, hashed assets immutable, client routes get index.html', async () => {
    for (const path of [
      '/portal/',
      '/portal/index.html',
      '/portal/invoices/2026-11',
      '/portal/%C3%BCn%C3%AF',
    ]) {
      const r = await raw(path);
      assert.equal(r.status, 200, path);
      assert.match(r.headers.get('content-type') ?? '', /^text\/html/, path);
      assert.equal(r.headers.get('cache-control'), 'no-cache', path);
      assert.ok(r.body.includes('<title>Portal</title>'), path);
      assertSecurityHeaders(r, path);
    }
    const asset = await raw('/portal/assets/app-3f9a1c.js');
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type') ?? '', /javascript/);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assertSecurityHeaders(asset, 'asset');
    const icon = await raw('/portal/favicon.svg');
    assert.equal(icon.status, 200);
    assert.equal(icon.headers.get('cache-control'), 'no-cache');
    const head = await raw('/portal/', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  test('a missing asset is a 404 problem, not index.html; redirects to /portal/', async () => {
    const missing = await raw('/portal/assets/app-000000.js');
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assertSecurityHeaders(missing, 'missing asset');
    const bare = await raw('/portal');
    assert.equal(bare.status, 301);
    assert.equal(bare.headers.get('location'), '/portal/');
    const home = await raw('/');
    assert.equal(home.status, 302);
    assert.equal(home.headers.get('location'), '/portal/');
    // Only GET and HEAD: anything else is the API's 404.
    assert.equal((await raw('/portal/', 'POST')).status, 404);
    // The API and the docs are untouched.
    assert.equal((await raw('/livez')).status, 200);
  });

  test('no path leaves the directory or reaches a dotfile', async () => {
    const refused = [
      '/portal/../secret.txt',
      '/portal/..%2fsecret.txt',
      '/portal/%2e%2e/secret.txt',
      '/portal/%2E%2E%2Fsecret.txt',
      '/portal/assets/%2e%2e/%2e%2e/secret.txt',
      '/portal/assets/..%5c..%5csecret.txt',
      '/portal/..\\secret.txt',
      '/portal/%5c..%5csecret.txt',
      '/portal/./index.html',
      '/portal/a%00b',
      '/portal/%00',
      '/portal/%01',
      '/portal/%ff',
      '/portal/%c3%28',
      '/portal/%',
      '/portal/ünï', // raw bytes outside ASCII: Node's parser refuses them before us
      `/portal/${'a'.repeat(5000)}`,
      `/portal/${'%2e%2e/'.repeat(300)}secret.txt`,
    ];
    for (const path of refused) {
      const r = await raw(path);
      assert.ok(!r.body.includes(SECRET), `${path.slice(0, 80)} leaked the secret`);
      assert.ok(
        r.status === 400 || r.status === 404 || r.status === 301,
        `${path.slice(0, 80)}: ${r.status}`,
      );
      if (r.status !== 400 || path.includes('ü')) continue;
      assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
      const problem = JSON.parse(r.body) as { code: string; field: string };
      assert.equal(problem.code, 'VALIDATION_FAILED', path);
      assert.equal(problem.field, 'path', path);
      assertSecurityHeaders(r, path.slice(0, 80));
    }
    // Dotfiles are not served (the client route fallback answers instead).
    const dotfile = await raw('/portal/.env');
    assert.ok(!dotfile.body.includes(SECRET));
    assert.ok(dotfile.body.includes('<title>Portal</title>'));
  });

  test('without a build, /portal/ says what to run (404 PORTAL_NOT_BUILT)', async () => {
    renameSync(join(dist, 'index.html'), join(dist, 'index.away'));
    try {
      for (const path of ['/portal/', '/portal/invoices', '/portal/assets/app-3f9a1c.js']) {
        const r = await raw(path);
        assert.equal(r.status, 404, path);
        const problem = JSON.parse(r.body) as { code: string; detail: string };
        assert.equal(problem.code, 'PORTAL_NOT_BUILT');
        assert.match(problem.detail, /npm run build -w @metering\/portal/);
        assert.doesNotMatch(problem.detail, new RegExp(root));
        assertSecurityHeaders(r, path);
      }
    } finally {
      renameSync(join(dist, 'index.away'), join(dist, 'index.html'));
    }
  });
});
