#!/usr/bin/env node
// Benchmark: closing a month and exporting it for many tenants, against the compiled billing-api.
//   npm run bench:invoice-close -w @metering/billing-api [-- --tenants 1000 --resources 10 --keep]
// 1. A schema of its own; N tenants × R resources × every hour of the month as usage_bucket rows
//    (generate_series, in each tenant's zone); a few plans, 10 % of tenants change plan mid-month.
// 2. The API as a separate process (dist/src/main.js) on a free loopback port.
// 3. POST /v1/periods/:period/close, then GET /v1/invoices/export?format=csv for all tenants,
//    each timed; peak RSS of the API process = VmHWM from /proc. Prints figures; no assertions.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = join(import.meta.dirname, '..');
const require = createRequire(join(root, 'services/billing-api/package.json'));
const { Client } = require('pg');
const { createLedgerDataSource, migrateLedger } = require('@metering/ledger');
const { statusKb } = require('@metering/testing');

const { values } = parseArgs({
  options: {
    tenants: { type: 'string', default: '1000' },
    resources: { type: 'string', default: '10' },
    period: { type: 'string', default: '2026-10' },
    keep: { type: 'boolean', default: false },
  },
});
const TENANTS = Number(values.tenants);
const RESOURCES = Number(values.resources);
const PERIOD = values.period;
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/metering';
const schema = `bench_invoice_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
const adminKey = `bench-${randomBytes(24).toString('hex')}`;
const seconds = (t0) => ((performance.now() - t0) / 1000).toFixed(2);
const log = (...a) => console.log(...a);

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function prepare() {
  const ds = createLedgerDataSource({ url: DATABASE_URL, schema, poolSize: 2 });
  await ds.initialize();
  await migrateLedger(ds);
  await ds.destroy();
  const db = new Client({ connectionString: DATABASE_URL, options: `-c search_path=${schema}` });
  await db.connect();
  const [y, m] = PERIOD.split('-').map(Number);
  const monthStart = `${PERIOD}-01 00:00:00`;
  const next =
    m === 12 ? `${y + 1}-01-01 00:00:00` : `${y}-${String(m + 1).padStart(2, '0')}-01 00:00:00`;
  const assignFrom = `${y - 1}-01-01T00:00:00Z`;
  const midMonth = `${PERIOD}-16T00:00:00Z`;

  let t0 = performance.now();
  await db.query(`
    INSERT INTO price_plan (id, version, currency, basis, cpu_tiers, memory_tiers, minimum) VALUES
      ('mem-flat', 1, 'EUR', 'usage', NULL, '[{"upTo":null,"unitPrice":"0.0050"}]', 0),
      ('std', 1, 'EUR', 'max', '[{"upTo":"1000","unitPrice":"0.040"},{"upTo":"5000","unitPrice":"0.035"},{"upTo":null,"unitPrice":"0.030"}]',
        '[{"upTo":null,"unitPrice":"0.0045"}]', 25),
      ('alloc', 1, 'EUR', 'allocation', '[{"upTo":null,"unitPrice":"0.031"}]', '[{"upTo":null,"unitPrice":"0.0040"}]', 500)`);
  await db.query(
    `INSERT INTO tenant (id, name, time_zone, currency)
     SELECT 't' || lpad(i::text, 5, '0'), 'Tenant ' || i,
            (ARRAY['UTC', 'Europe/Paris', 'America/New_York'])[1 + i % 3], 'EUR'
     FROM generate_series(1, $1) i`,
    [TENANTS],
  );
  await db.query(
    `INSERT INTO plan_assignment (tenant_id, effective_from, plan_id, plan_version)
     SELECT id, $1::timestamptz, (ARRAY['mem-flat', 'std', 'alloc'])[1 + n % 3], 1
     FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM tenant) t`,
    [assignFrom],
  );
  await db.query(
    `INSERT INTO plan_assignment (tenant_id, effective_from, plan_id, plan_version)
     SELECT id, $1::timestamptz, 'std', 1
     FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM tenant) t WHERE n % 10 = 0`,
    [midMonth],
  );
  // Billing details as a finance team sets them: a tax rate for all, a reverse charge for some,
  // and one tenant in ten with a Greek/CJK legal name (its PDF embeds the Unicode font subset).
  await db.query(
    `UPDATE tenant SET
       tax_rate = CASE WHEN n % 7 = 0 THEN 0 ELSE 19 END,
       tax_id = 'EU' || lpad(n::text, 9, '0'),
       tax_exemption_reason = CASE WHEN n % 7 = 0 THEN 'reverse-charge' END,
       legal_name = CASE WHEN n % 10 = 0 THEN 'Ωμέγα 株式会社 ' || n ELSE 'Tenant ' || n || ' Ltd' END,
       address = ARRAY['Street ' || n, '10115 Berlin'],
       locale = (ARRAY['en', 'de-DE', 'fr-FR'])[1 + n % 3]
     FROM (SELECT id AS tid, row_number() OVER (ORDER BY id) AS n FROM tenant) t WHERE t.tid = tenant.id`,
  );
  log(`plans and ${TENANTS} tenants: ${seconds(t0)} s`);

  // Bulk load without the secondary index, then build it (as a restore would).
  t0 = performance.now();
  await db.query(`DROP INDEX usage_bucket_tenant_time`);
  await db.query(
    `INSERT INTO usage_bucket (tenant_id, resource_id, bucket_start, resource_kind,
       cpu_usage_core_seconds, cpu_allocation_core_seconds, cpu_max_core_seconds,
       memory_usage_byte_seconds, memory_allocation_byte_seconds, memory_max_byte_seconds,
       observed_ms, gap_ms)
     SELECT t.id, t.id || '-r' || r, h, CASE WHEN r % 4 = 0 THEN 'vm' ELSE 'container' END,
            u.cpu, 1800, greatest(u.cpu, 1800),
            u.mem, 536870912::numeric * 3600, greatest(u.mem, 536870912::numeric * 3600),
            CASE WHEN (r + extract(hour FROM h)::int) % 97 = 0 THEN 3000000 ELSE 3600000 END,
            CASE WHEN (r + extract(hour FROM h)::int) % 97 = 0 THEN 600000 ELSE 0 END
     FROM tenant t
     CROSS JOIN generate_series(1, $1) r
     CROSS JOIN LATERAL generate_series(
       $2::timestamp AT TIME ZONE t.time_zone,
       ($3::timestamp AT TIME ZONE t.time_zone) - interval '1 hour',
       interval '1 hour') h
     CROSS JOIN LATERAL (SELECT
       ((r * 37 + extract(epoch FROM h)::bigint / 3600 * 13) % 1800 + 0.123456789)::numeric AS cpu,
       (((r * 53 + extract(epoch FROM h)::bigint / 3600 * 7) % 512 + 64) * 1048576 * 3600)::numeric AS mem) u`,
    [RESOURCES, monthStart, next],
  );
  await db.query(`CREATE INDEX usage_bucket_tenant_time ON usage_bucket (tenant_id, bucket_start)`);
  await db.query(`ANALYZE usage_bucket`);
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM usage_bucket`);
  log(`usage buckets: ${rows[0].n.toLocaleString('en')} rows in ${seconds(t0)} s`);
  return db;
}

function startApi(port) {
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: join(root, 'services/billing-api'),
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL,
      DATABASE_SCHEMA: schema,
      ADMIN_API_KEY: adminKey,
      LOG_LEVEL: 'warn',
      RATE_LIMIT: '1000000',
      // The bench measures the close it asks for, not the scheduler's own (issue 16).
      SCHEDULED_CLOSE: 'off',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return child;
}

async function waitHealthy(base) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {
      // Not listening yet: try again until the deadline.
    }
    if (Date.now() > deadline) throw new Error('billing-api did not become healthy');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A field of /proc/<pid>/status (VmRSS, VmHWM), in MB. */
const status = (pid, field) => statusKb(pid, field) / 1024;

const db = await prepare();
const port = await freePort();
const api = startApi(port);
const base = `http://127.0.0.1:${port}`;
const auth = { authorization: `Bearer ${adminKey}` };
try {
  await waitHealthy(base);
  const idleRss = status(api.pid, 'VmRSS');
  // Highest RSS seen in each phase (sampled every 100 ms), beside the kernel's overall peak.
  let phasePeak = 0;
  const sampler = setInterval(() => {
    phasePeak = Math.max(phasePeak, status(api.pid, 'VmRSS'));
  }, 100);
  const phase = () => {
    const peak = Math.max(phasePeak, status(api.pid, 'VmRSS'));
    phasePeak = 0;
    return peak;
  };

  let t0 = performance.now();
  const close = await fetch(`${base}/v1/periods/${PERIOD}/close`, {
    method: 'POST',
    headers: auth,
  });
  const closeBody = await close.json();
  const closeSeconds = (performance.now() - t0) / 1000;
  const closeRss = phase();
  if (close.status !== 200) throw new Error(`close: ${close.status} ${JSON.stringify(closeBody)}`);

  t0 = performance.now();
  const exp = await fetch(`${base}/v1/invoices/export?period=${PERIOD}&format=csv`, {
    headers: auth,
  });
  let bytes = 0;
  let lines = 0;
  for await (const chunk of exp.body) {
    bytes += chunk.length;
    for (const b of chunk) if (b === 10) lines++;
  }
  const exportSeconds = (performance.now() - t0) / 1000;
  const exportRss = phase();

  // A month still open: every invoice is a live draft computed from the ledger.
  t0 = performance.now();
  const drafts = await fetch(
    `${base}/v1/invoices/export?period=${nextPeriod(PERIOD)}&format=jsonl`,
    { headers: auth },
  );
  let draftBytes = 0;
  for await (const chunk of drafts.body) draftBytes += chunk.length;
  const draftSeconds = (performance.now() - t0) / 1000;
  const draftRss = phase();
  clearInterval(sampler);

  const peakRss = status(api.pid, 'VmHWM');
  const { rows } = await db.query(
    `SELECT count(*)::int AS n, min(number) AS first, max(number) AS last, sum(total)::text AS total FROM invoice`,
  );
  log('');
  log(`tenants × resources × hours: ${TENANTS} × ${RESOURCES} × month ${PERIOD}`);
  log(
    `close:  ${closeSeconds.toFixed(2)} s  (${closeBody.finalized} invoices final, ${rows[0].first} … ${rows[0].last}, Σ total ${rows[0].total} EUR)`,
  );
  log(
    `export: ${exportSeconds.toFixed(2)} s  (CSV, ${lines.toLocaleString('en')} lines, ${(bytes / 1048576).toFixed(1)} MiB)`,
  );
  log(`close + export: ${(closeSeconds + exportSeconds).toFixed(2)} s  (target < 60 s)`);
  const pdfs = await db.query(
    `SELECT count(*)::int AS n, avg(length(pdf))::int AS avg, max(length(pdf))::int AS max FROM document_pdf`,
  );
  log(
    `stored PDFs: ${pdfs.rows[0].n} (average ${(pdfs.rows[0].avg / 1024).toFixed(1)} KiB, largest ${(pdfs.rows[0].max / 1024).toFixed(1)} KiB), rendered once at close`,
  );
  log(
    `draft export of the next (open) month: ${draftSeconds.toFixed(2)} s (${(draftBytes / 1048576).toFixed(1)} MiB JSONL)`,
  );
  log(
    `API process RSS: idle ${idleRss.toFixed(0)} MB; highest during close ${closeRss.toFixed(0)} MB, ` +
      `export ${exportRss.toFixed(0)} MB, draft export ${draftRss.toFixed(0)} MB; ` +
      `peak (VmHWM) ${peakRss.toFixed(0)} MB  (target < 300 MB)`,
  );
} finally {
  api.kill('SIGTERM');
  await new Promise((r) => api.once('exit', r));
  if (!values.keep) await db.query(`DROP SCHEMA "${schema}" CASCADE`);
  else log(`kept schema ${schema}`);
  await db.end();
}

function nextPeriod(p) {
  const [y, m] = p.split('-').map(Number);
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}
