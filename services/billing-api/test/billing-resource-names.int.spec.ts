import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { BillingHarness } from './billing-harness';

// Names over HTTP: the usage API's by=resource and the invoice's resource rows (JSON, CSV, PDF)
// name each resource as the ledger's `resource` dimension (written by rating) describes it;
// non-ASCII names come back byte for byte; a final invoice keeps the names it was closed with.
const run = promisify(execFile);
const h = new BillingHarness();
const CONTAINER = 'a1b2c3d4e5f6'.padEnd(64, '0');
const VM = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';
const GREEK = 'Ωμέγα 株式会社';
let acmeKey = '';

async function describeResource(
  tenantId: string,
  resourceId: string,
  d: { kind: 'container' | 'vm'; name: string; image?: string; flavour?: string; host: string },
): Promise<void> {
  await h.db.query(
    `INSERT INTO resource (tenant_id, resource_id, kind, name, image, flavour, host, first_seen,
       last_seen, details_observed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, '2025-11-03T10:00:00Z', '2025-11-03T11:00:00Z',
       '2025-11-03T11:00:00Z')
     ON CONFLICT (tenant_id, resource_id) DO UPDATE SET name = EXCLUDED.name`,
    [tenantId, resourceId, d.kind, d.name, d.image ?? null, d.flavour ?? null, d.host],
  );
}

interface NamedInvoice {
  status: string;
  resources: { resourceId: string; resourceName?: string | null }[];
}

interface UsageJson {
  items: {
    start: string;
    resourceId?: string;
    resourceKind?: string;
    resourceName?: string | null;
  }[];
  resources?: {
    id: string;
    kind: string;
    name: string | null;
    image: string | null;
    flavour: string | null;
    host: string | null;
    firstSeen: string | null;
    lastSeen: string | null;
  }[];
}

before(async () => {
  await h.start();
  await h.tenant('acme', 'EUR', 'UTC');
  await h.tenant('globex', 'EUR', 'UTC');
  acmeKey = (await h.key('acme')).key;
  await h.plan({ id: 'mem', memory: { tiers: [{ upTo: null, unitPrice: '0.0050' }] } });
  await h.assign('acme', 'mem', '2025-01-01T00:00:00Z');
  await h.bucket('acme', CONTAINER, '2025-11-03T10:00:00Z', '1', '2');
  await h.bucket('acme', VM, '2025-11-03T10:00:00Z', '2', '4');
  await h.bucket('acme', 'unnamed-1', '2025-11-03T10:00:00Z', '0.5', '1');
  await h.bucket('globex', CONTAINER, '2025-11-03T10:00:00Z', '1', '1');
  await describeResource('acme', CONTAINER, {
    kind: 'container',
    name: 'web-1',
    image: 'local/busybox:1',
    host: 'node-1',
  });
  await describeResource('acme', VM, {
    kind: 'vm',
    name: GREEK,
    flavour: 'm1.small',
    host: 'kvm-2',
  });
  // The same id under another tenant, another name: never shown to acme.
  await describeResource('globex', CONTAINER, {
    kind: 'container',
    name: 'globex-secret',
    host: 'node-9',
  });
});
after(() => h.stop());

describe('usage by resource', () => {
  test('each resource with its name, kind, image or flavour and host; items carry the name', async () => {
    const r = await h.call(
      'GET',
      '/v1/tenants/acme/usage?from=2025-11-01T00:00:00Z&to=2025-12-01T00:00:00Z&by=resource',
      { key: acmeKey },
    );
    assert.equal(r.status, 200, r.text);
    const body = r.json as UsageJson;
    assert.deepEqual(body.resources, [
      {
        id: VM,
        // The dimension's kind (the harness writes every bucket as a container).
        kind: 'vm',
        name: GREEK,
        image: null,
        flavour: 'm1.small',
        host: 'kvm-2',
        firstSeen: '2025-11-03T10:00:00.000Z',
        lastSeen: '2025-11-03T11:00:00.000Z',
      },
      {
        id: CONTAINER,
        kind: 'container',
        name: 'web-1',
        image: 'local/busybox:1',
        flavour: null,
        host: 'node-1',
        firstSeen: '2025-11-03T10:00:00.000Z',
        lastSeen: '2025-11-03T11:00:00.000Z',
      },
      // Rated before names were recorded: known by id only.
      {
        id: 'unnamed-1',
        kind: 'container',
        name: null,
        image: null,
        flavour: null,
        host: null,
        firstSeen: null,
        lastSeen: null,
      },
    ]);
    assert.deepEqual(
      body.items.map((i) => [i.resourceId, i.resourceName]),
      [
        [VM, GREEK],
        [CONTAINER, 'web-1'],
        ['unnamed-1', null],
      ],
    );
    // The raw bytes carry the name as UTF-8, not escaped or mangled.
    assert.ok(r.buffer.includes(Buffer.from(GREEK, 'utf8')));
    assert.doesNotMatch(r.text, /globex-secret/);
  });

  test('daily granularity too; without by=resource no resources and no names', async () => {
    const daily = await h.call(
      'GET',
      '/v1/tenants/acme/usage?from=2025-11-01T00:00:00Z&to=2025-12-01T00:00:00Z&granularity=day&by=resource',
    );
    assert.equal(daily.status, 200, daily.text);
    assert.equal((daily.json as UsageJson).resources?.length, 3);
    const plain = await h.call(
      'GET',
      '/v1/tenants/acme/usage?from=2025-11-01T00:00:00Z&to=2025-12-01T00:00:00Z',
    );
    assert.equal(plain.status, 200, plain.text);
    assert.equal((plain.json as UsageJson).resources, undefined);
    assert.ok((plain.json as UsageJson).items.every((i) => !('resourceName' in i)));
  });
});

describe('invoices name their resources', () => {
  test('JSON resources and CSV resource rows carry the name beside the id', async () => {
    const json = await h.call('GET', '/v1/tenants/acme/invoices/2025-11');
    assert.equal(json.status, 200, json.text);
    const invoice = json.json as NamedInvoice;
    assert.deepEqual(
      invoice.resources.map((r) => [r.resourceId, r.resourceName]),
      [
        [VM, GREEK],
        [CONTAINER, 'web-1'],
        ['unnamed-1', null],
      ],
    );
    const csv = await h.call('GET', '/v1/tenants/acme/invoices/2025-11?format=csv');
    assert.equal(csv.status, 200, csv.text);
    const rows: Record<string, string>[] = parse(csv.text, { columns: true });
    const resources = rows.filter((r) => r.row_type === 'resource');
    assert.deepEqual(
      [...new Set(resources.map((r) => `${r.resource_id}|${r.resource_name}`))],
      [`${VM}|${GREEK}`, `${CONTAINER}|web-1`, 'unnamed-1|'],
    );
    assert.ok(resources.some((r) => r.description === `container ${GREEK} (3f2504e0) cpu`));
    assert.ok(resources.some((r) => r.description === 'container web-1 (a1b2c3d4e5f6) memory'));
  });

  test('the PDF per-resource table shows the name beside the short id', async () => {
    const r = await h.call('GET', '/v1/tenants/acme/invoices/2025-11?format=pdf');
    assert.equal(r.status, 200);
    const dir = mkdtempSync(join(tmpdir(), 'names-pdf-'));
    try {
      writeFileSync(join(dir, 'invoice.pdf'), r.buffer);
      const { stdout } = await run('pdftotext', ['-layout', join(dir, 'invoice.pdf'), '-']);
      assert.match(stdout, /web-1 \(a1b2c3d4e5f6\)/);
      assert.match(stdout, /unnamed-1/);
      assert.doesNotMatch(stdout, new RegExp(CONTAINER), 'the whole container id is not printed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a final invoice keeps the names it was closed with', async () => {
    const closed = await h.call('POST', '/v1/periods/2025-11/close');
    assert.equal(closed.status, 200, closed.text);
    await describeResource('acme', CONTAINER, {
      kind: 'container',
      name: 'renamed',
      host: 'node-1',
    });
    const final = (await h.call('GET', '/v1/tenants/acme/invoices/2025-11')).json as NamedInvoice;
    assert.equal(final.status, 'final');
    assert.equal(final.resources.find((x) => x.resourceId === CONTAINER)?.resourceName, 'web-1');
    // The usage API shows the current name.
    const usage = await h.call(
      'GET',
      '/v1/tenants/acme/usage?from=2025-11-01T00:00:00Z&to=2025-12-01T00:00:00Z&by=resource',
    );
    assert.equal(
      (usage.json as UsageJson).resources?.find((x) => x.id === CONTAINER)?.name,
      'renamed',
    );
  });
});
