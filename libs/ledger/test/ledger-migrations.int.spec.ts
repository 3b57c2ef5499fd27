import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { localInfra, uniqueName } from '@metering/testing';
import {
  LEDGER_MIGRATIONS,
  createLedgerDataSource,
  migrateLedger,
  revertLedgerThrough,
} from '../src';

const schema = uniqueName('ledger');
const ds = createLedgerDataSource({ url: localInfra.postgresUrl, schema });

after(async () => {
  if (ds.isInitialized) {
    await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await ds.destroy();
  }
});

const tables = async () =>
  (
    await ds.query<{ table_name: string }[]>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
      [schema],
    )
  ).map((r) => r.table_name);

test('the ledger migrations apply into their own schema, twice harmlessly, and revert', async () => {
  await ds.initialize();
  assert.deepEqual(await migrateLedger(ds), [
    'InitialLedger1764115200000',
    'BillingLedger1764201600000',
    'UsageCharges1764288000000',
    'UsageWindows1764374400000',
    'PricedAssignments1764460800000',
    'OffsetContinuity1764547200000',
    'DlqReplay1764633600000',
    'LegalInvoices1764720000000',
    'ResourceDimension1764722000000',
    'BillingAutomation1764723000160',
    'ApiResources1764723600000',
    'BudgetThresholds1764723700000',
    'PortalSessions1764724000000',
    'CloseRunStartedBy1764724200000',
    'CloseRunByApi1764724300000',
    'CompletenessCounters1764724400000',
    'RatingPricingStage1764724500000',
    'UsageBucketCharges1764724600000',
    'RowsPerTenantMonth1764724700000',
    'TransientRowsLz41764724800000',
    'HotUpdates1764724900000',
  ]);
  assert.deepEqual(await migrateLedger(ds), [], 'a second run applies nothing');
  assert.deepEqual(await tables(), [
    'api_key',
    'billing_close_run',
    'budget_crossing',
    'budget_threshold',
    'consumer_offset',
    'consumer_offset_decision',
    'credit_note',
    'credit_note_counter',
    'dlq_replay',
    'document_pdf',
    'event_outbox',
    'idempotency_key',
    'instance_state',
    'invoice',
    'invoice_counter',
    'ledger_migrations',
    'plan_assignment',
    'portal_link',
    'portal_session',
    'price_plan',
    'rating_open_window',
    'rating_priced_assignment',
    'rating_unpriced_usage',
    'resource',
    'tenant',
    'tenant_month_position',
    'usage_bucket',
    'usage_bucket_charge',
    'usage_outbox',
    'webhook_delivery',
    'webhook_endpoint',
  ]);
  // The entities match the migrated tables: TypeORM's schema diff proposes nothing but dropping
  // the CHECK and foreign-key constraints that only the migration declares.
  const pending = await ds.driver.createSchemaBuilder().log();
  assert.deepEqual(
    pending.upQueries
      .map((q) => q.query)
      .filter((q) => !/DROP CONSTRAINT "[a-z_]+_(check|fkey)"$/.test(q)),
    [],
  );
  // Every migration reverts, newest first.
  await revertLedgerThrough(ds, LEDGER_MIGRATIONS[0]!.name);
  assert.deepEqual(await tables(), ['ledger_migrations']);
});

test('concurrent first starts take turns: every migration applies exactly once', async () => {
  const schema2 = uniqueName('ledger_race');
  const sources = [1, 2, 3].map(() =>
    createLedgerDataSource({ url: localInfra.postgresUrl, schema: schema2 }),
  );
  try {
    await Promise.all(sources.map((s) => s.initialize()));
    const applied = await Promise.all(sources.map((s) => migrateLedger(s)));
    const all = applied.flat();
    assert.equal(new Set(all).size, all.length, 'no migration applied twice');
    assert.ok(all.includes('InitialLedger1764115200000'));
  } finally {
    await sources[0]!.query(`DROP SCHEMA IF EXISTS "${schema2}" CASCADE`);
    await Promise.all(sources.map((s) => s.destroy()));
  }
});

test('a data source with a pool of one connection migrates (the lock holder runs the migrations)', async () => {
  const schema3 = uniqueName('ledger_pool1');
  const single = createLedgerDataSource({
    url: localInfra.postgresUrl,
    schema: schema3,
    poolSize: 1,
  });
  await single.initialize();
  try {
    const applied = await Promise.race([
      migrateLedger(single),
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error('migrateLedger waited for its own connection')),
          30_000,
        ).unref(),
      ),
    ]);
    assert.ok(applied.includes('InitialLedger1764115200000'));
    const [row] = await single.query<{ n: string }[]>(
      `SELECT count(*)::text AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'usage_bucket'`,
      [schema3],
    );
    assert.equal(row?.n, '1');
  } finally {
    await single.query(`DROP SCHEMA IF EXISTS "${schema3}" CASCADE`);
    await single.destroy();
  }
});

test('upgrading to PricedAssignments records the assignments rating priced with until then', async () => {
  const schema4 = uniqueName('ledger_upgrade');
  const source = createLedgerDataSource({ url: localInfra.postgresUrl, schema: schema4 });
  await source.initialize();
  try {
    await migrateLedger(source);
    // Back to the ledger before it, with a tenant on a plan since October.
    await revertLedgerThrough(source, 'PricedAssignments1764460800000');
    await source.query(
      `INSERT INTO tenant (id, name, time_zone, currency) VALUES ('acme', 'Acme', 'UTC', 'EUR')`,
    );
    await source.query(
      `INSERT INTO price_plan (id, version, currency, basis) VALUES ('std', 1, 'EUR', 'usage')`,
    );
    await source.query(
      `INSERT INTO plan_assignment (tenant_id, effective_from, plan_id, plan_version)
       VALUES ('acme', '2026-10-01T00:00:00Z', 'std', 1)`,
    );
    assert.deepEqual(await migrateLedger(source), [
      'PricedAssignments1764460800000',
      'OffsetContinuity1764547200000',
      'DlqReplay1764633600000',
      'LegalInvoices1764720000000',
      'ResourceDimension1764722000000',
      'BillingAutomation1764723000160',
      'ApiResources1764723600000',
      'BudgetThresholds1764723700000',
      'PortalSessions1764724000000',
      'CloseRunStartedBy1764724200000',
      'CloseRunByApi1764724300000',
      'CompletenessCounters1764724400000',
      'RatingPricingStage1764724500000',
      'UsageBucketCharges1764724600000',
      'RowsPerTenantMonth1764724700000',
      'TransientRowsLz41764724800000',
      'HotUpdates1764724900000',
    ]);
    const rows = await source.query<{ t: string; p: string; v: number; f: Date }[]>(
      `SELECT tenant_id AS t, plan_id AS p, plan_version AS v, effective_from AS f
       FROM rating_priced_assignment`,
    );
    assert.deepEqual(
      rows.map((r) => ({ ...r, f: r.f.toISOString() })),
      [{ t: 'acme', p: 'std', v: 1, f: '2026-10-01T00:00:00.000Z' }],
    );
  } finally {
    await source.query(`DROP SCHEMA IF EXISTS "${schema4}" CASCADE`);
    await source.destroy();
  }
});

test('upgrading to RatingPricingStage moves the open usage windows out of instance_state', async () => {
  const schema5 = uniqueName('ledger_windows');
  const source = createLedgerDataSource({ url: localInfra.postgresUrl, schema: schema5 });
  await source.initialize();
  try {
    await migrateLedger(source);
    // Back to the ledger before it (the migrations after it first).
    const since = 'RatingPricingStage1764724500000';
    await revertLedgerThrough(source, since);
    const window = { tenantId: 'acme', period: '2026-10', resourceId: 'r1', instanceId: 'i1' };
    await source.query(
      `INSERT INTO instance_state (resource_id, instance_id, tenant_id, resource_kind, started_at,
         last_observed_at, last_cpu_usage_ns, last_memory_usage_bytes, pending_usage)
       VALUES ('r1', 'i1', 'acme', 'container', now(), now(), 0, 0, $1::jsonb),
              ('r2', 'i2', 'acme', 'container', now(), now(), 0, 0, NULL)`,
      [JSON.stringify(window)],
    );
    assert.deepEqual(await migrateLedger(source), [
      'RatingPricingStage1764724500000',
      'UsageBucketCharges1764724600000',
      'RowsPerTenantMonth1764724700000',
      'TransientRowsLz41764724800000',
      'HotUpdates1764724900000',
    ]);
    const rows = await source.query<{ r: string; i: string; p: string; t: string; w: object }[]>(
      `SELECT resource_id AS r, instance_id AS i, period AS p, tenant_id AS t, "window" AS w
       FROM rating_open_window`,
    );
    assert.deepEqual(rows, [{ r: 'r1', i: 'i1', p: '2026-10', t: 'acme', w: window }]);
    // And back: the window returns to its instance's state.
    await revertLedgerThrough(source, since);
    const back = await source.query<{ w: object | null }[]>(
      `SELECT pending_usage AS w FROM instance_state ORDER BY resource_id`,
    );
    assert.deepEqual(back, [{ w: window }, { w: null }]);
  } finally {
    await source.query(`DROP SCHEMA IF EXISTS "${schema5}" CASCADE`);
    await source.destroy();
  }
});

test("upgrading to UsageBucketCharges moves the buckets' charges to a row of their own, and back", async () => {
  const schema6 = uniqueName('ledger_charges');
  const source = createLedgerDataSource({ url: localInfra.postgresUrl, schema: schema6 });
  await source.initialize();
  try {
    await migrateLedger(source);
    // Back to the ledger before it (the migrations after it first).
    const since = 'UsageBucketCharges1764724600000';
    await revertLedgerThrough(source, since);
    await source.query(
      `INSERT INTO usage_bucket (tenant_id, resource_id, bucket_start, resource_kind,
         cpu_usage_core_seconds, amount)
       VALUES ('acme', 'r1', '2026-10-01T06:00:00Z', 'container', 3600, 0.1234567),
              ('acme', 'r2', '2026-10-01T06:00:00Z', 'container', 7200, 0)`,
    );
    assert.deepEqual(await migrateLedger(source), [
      'UsageBucketCharges1764724600000',
      'RowsPerTenantMonth1764724700000',
      'TransientRowsLz41764724800000',
      'HotUpdates1764724900000',
    ]);
    const charges = await source.query<{ r: string; s: Date; a: string }[]>(
      `SELECT resource_id AS r, bucket_start AS s, amount::text AS a FROM usage_bucket_charge`,
    );
    assert.deepEqual(
      charges.map((c) => ({ ...c, s: c.s.toISOString() })),
      [{ r: 'r1', s: '2026-10-01T06:00:00.000Z', a: '0.1234567' }],
      'the non-zero charge moved; a zero one is no row',
    );
    const columns = await source.query<{ c: string }[]>(
      `SELECT column_name AS c FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = 'usage_bucket' AND column_name = 'amount'`,
      [schema6],
    );
    assert.deepEqual(columns, [], 'usage_bucket has no amount any more');
    // And back: the charges return to their buckets.
    await revertLedgerThrough(source, since);
    const back = await source.query<{ r: string; a: string }[]>(
      `SELECT resource_id AS r, amount::text AS a FROM usage_bucket ORDER BY 1`,
    );
    assert.deepEqual(back, [
      { r: 'r1', a: '0.1234567' },
      { r: 'r2', a: '0' },
    ]);
  } finally {
    await source.query(`DROP SCHEMA IF EXISTS "${schema6}" CASCADE`);
    await source.destroy();
  }
});

test('TransientRowsLz4 compresses new pieces and outbox events with LZ4, and back', async () => {
  const schema7 = uniqueName('ledger_lz4');
  const source = createLedgerDataSource({ url: localInfra.postgresUrl, schema: schema7 });
  await source.initialize();
  // The column's method ('l': LZ4, '': the server's default) and that of a value written now.
  const methods = async () =>
    (
      await source.query<{ c: string; m: string }[]>(
        `SELECT attrelid::regclass::text || '.' || attname AS c, attcompression::text AS m
         FROM pg_attribute WHERE attrelid IN ('rating_unpriced_usage'::regclass,
           'usage_outbox'::regclass) AND attname IN ('piece', 'payloads')`,
      )
    )
      .map((r) => `${r.c.replace(/^.*\./, '')}:${r.m}`)
      .sort();
  const written = async () => {
    // Compressible and over the ~2 kB from which PostgreSQL compresses a value.
    const big = JSON.stringify(Array.from({ length: 400 }, (_, i) => ({ part: i % 7, q: '1' })));
    await source.query(
      `INSERT INTO rating_unpriced_usage (tenant_id, period, piece, piece_count)
       VALUES ('acme', '2026-10', $1::jsonb, 1)`,
      [big],
    );
    await source.query(
      `INSERT INTO usage_outbox (tenant_id, payloads, event_count) VALUES ('acme', $1, 1)`,
      [big],
    );
    const rows = await source.query<{ p: string | null; o: string | null }[]>(
      `SELECT (SELECT pg_column_compression(piece) FROM rating_unpriced_usage
                ORDER BY id DESC LIMIT 1) AS p,
              (SELECT pg_column_compression(payloads) FROM usage_outbox
                ORDER BY id DESC LIMIT 1) AS o`,
    );
    return rows[0];
  };
  try {
    await migrateLedger(source);
    // The stack's PostgreSQL (Debian's 15) is built with LZ4: the migration takes effect here.
    assert.deepEqual(await methods(), ['payloads:l', 'piece:l']);
    assert.deepEqual(await written(), { p: 'lz4', o: 'lz4' });
    // Back to the ledger before it (the migrations after it first).
    await revertLedgerThrough(source, 'TransientRowsLz41764724800000');
    assert.deepEqual(await methods(), ['payloads:', 'piece:']);
    const setting = await source.query<{ m: string }[]>(
      `SELECT current_setting('default_toast_compression') AS m`,
    );
    const m = setting[0]!.m;
    assert.deepEqual(await written(), { p: m, o: m }, "the server's default again");
  } finally {
    await source.query(`DROP SCHEMA IF EXISTS "${schema7}" CASCADE`);
    await source.destroy();
  }
});

test('HotUpdates leaves room in the pages of the rows rating updates in place, and back', async () => {
  const schema8 = uniqueName('ledger_hot');
  const source = createLedgerDataSource({ url: localInfra.postgresUrl, schema: schema8 });
  await source.initialize();
  const fillFactors = async () =>
    (
      await source.query<{ t: string; o: string[] | null }[]>(
        `SELECT c.relname AS t, c.reloptions AS o FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relname IN ('instance_state', 'resource', 'usage_bucket',
           'usage_bucket_charge', 'usage_outbox') ORDER BY 1`,
        [schema8],
      )
    ).map((r) => `${r.t}:${(r.o ?? []).join(',')}`);
  try {
    await migrateLedger(source);
    assert.deepEqual(await fillFactors(), [
      'instance_state:fillfactor=50',
      'resource:fillfactor=50',
      'usage_bucket:fillfactor=90',
      'usage_bucket_charge:fillfactor=90',
      'usage_outbox:',
    ]);
    // A state rewritten in place: its new version in the same page, no new index entry.
    await source.query(
      `INSERT INTO instance_state (resource_id, instance_id, tenant_id, resource_kind, started_at,
         last_observed_at, last_cpu_usage_ns, last_memory_usage_bytes)
       SELECT 'r' || i, 'i', 'acme', 'container', now(), now(), 0, 0
       FROM generate_series(1, 500) AS i`,
    );
    const page = async () =>
      (
        await source.query<{ p: string }[]>(
          `SELECT (ctid::text::point)[0]::int::text AS p FROM instance_state WHERE resource_id = 'r1'`,
        )
      )[0]?.p;
    const before = await page();
    for (let k = 1; k <= 5; k++)
      await source.query(
        `UPDATE instance_state SET last_cpu_usage_ns = $1, updated_at = now()
         WHERE resource_id LIKE 'r%'`,
        [k],
      );
    assert.equal(await page(), before, 'rewritten in its own page');
    await revertLedgerThrough(source, 'HotUpdates1764724900000');
    assert.deepEqual(await fillFactors(), [
      'instance_state:',
      'resource:',
      'usage_bucket:',
      'usage_bucket_charge:',
      'usage_outbox:',
    ]);
  } finally {
    await source.query(`DROP SCHEMA IF EXISTS "${schema8}" CASCADE`);
    await source.destroy();
  }
});
