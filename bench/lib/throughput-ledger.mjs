// The stores of bench/rating-throughput.mjs: each run's ledger schema (tenants on tiered plans),
// and its InfluxDB database (what rating wrote there, and dropping it).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DATABASE_URL, INFLUX_URL } from '../rating-process.mjs';

/**
 * Schema with `tenants` (50) registered tenants in three zones, each on a tiered plan (two bases),
 * migrated by the ledger library of `root` (a checkout; default this one): a run of another
 * checkout's build (--variant-main) gets the schema that build's queries were written for.
 */
export async function prepareLedger(schema, tenants, root = join(import.meta.dirname, '..', '..')) {
  const { createLedgerDataSource, migrateLedger } = await import(
    pathToFileURL(join(root, 'libs/ledger/dist/src/index.js')).href
  );
  // migrateLedger holds an advisory lock on one connection while migrating on another.
  const ds = createLedgerDataSource({ url: DATABASE_URL, schema, poolSize: 2 });
  await ds.initialize();
  await migrateLedger(ds);
  const zones = ['UTC', 'Asia/Kolkata', 'America/New_York'];
  await ds.query(
    `INSERT INTO price_plan (id, version, currency, basis, cpu_tiers, memory_tiers) VALUES
     ('std', 1, 'EUR', 'usage', $1::jsonb, $2::jsonb), ('mem', 1, 'EUR', 'max', NULL, $2::jsonb)`,
    [
      JSON.stringify([
        { upTo: '100', unitPrice: '0.040' },
        { upTo: '1000', unitPrice: '0.035' },
        { upTo: null, unitPrice: '0.030' },
      ]),
      JSON.stringify([
        { upTo: '500', unitPrice: '0.0050' },
        { upTo: null, unitPrice: '0.0040' },
      ]),
    ],
  );
  for (let i = 0; i < tenants; i++) {
    await ds.query(
      `INSERT INTO tenant (id, name, time_zone, currency) VALUES ($1, $1, $2, 'EUR')`,
      [`tenant-${i}`, zones[i % zones.length]],
    );
    await ds.query(
      `INSERT INTO plan_assignment (tenant_id, effective_from, plan_id, plan_version) VALUES ($1, '2026-01-01', $2, 1)`,
      [`tenant-${i}`, i % 5 === 4 ? 'mem' : 'std'],
    );
  }
  await ds.destroy();
}

export async function influx(q, database) {
  const res = await fetch(`${INFLUX_URL}/query`, {
    method: 'POST',
    body: new URLSearchParams({ q, db: database }),
  });
  return res.json();
}

export async function influxCount(database) {
  const count = async (m) => {
    const json = await influx(`SELECT count(cpu_core_seconds) FROM "${m}"`, database).catch(
      () => ({}),
    );
    return json.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0;
  };
  const res = await influx('SELECT count(memory_bytes) FROM "resource"', database).catch(
    () => ({}),
  );
  return {
    usage: await count('usage'),
    resource: res.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0,
  };
}
