// What the rating benchmark watches in PostgreSQL while rating runs (bench/rating-throughput.mjs):
// the ledger rows written (pg_stat_user_tables) and the time rating's transactions spent waiting
// on locks, told apart by who held them (the same rating process, or another one).
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** The ledger tables a batch writes per resource (and bucket): what grows with the fleet. */
export const LEDGER_ROW_TABLES = ['usage_bucket', 'instance_state'];

/**
 * Rows inserted plus rows updated so far, per table of `schema` (an upsert that updates counts as
 * one update). PostgreSQL's backends report these when they go idle or exit (at most once a
 * second), so read them after the writers have exited.
 */
export async function ledgerRowCounts(db, schema) {
  const { rows } = await db.query(
    `SELECT relname, (n_tup_ins + n_tup_upd)::bigint::text AS n
     FROM pg_stat_user_tables WHERE schemaname = $1`,
    [schema],
  );
  return Object.fromEntries(rows.map((r) => [r.relname, Number(r.n)]));
}

/**
 * Rows of the per-resource ledger tables, their on-disk bytes per row (table, TOAST and indexes,
 * with the dead versions the run's upserts left for vacuum) and the average live row's bytes.
 */
export async function ledgerRowSizes(db, schema) {
  const out = {};
  for (const table of LEDGER_ROW_TABLES) {
    const { rows } = await db.query(
      `SELECT count(*)::bigint::text AS n, pg_total_relation_size($1::regclass)::bigint::text AS b,
              coalesce(avg(pg_column_size(x.*)), 0)::float8 AS tuple
       FROM "${schema}"."${table}" AS x`,
      [`"${schema}"."${table}"`],
    );
    const n = Number(rows[0].n);
    out[table] = {
      rows: n,
      bytesPerRow: n === 0 ? 0 : Number(rows[0].b) / n,
      tupleBytes: rows[0].tuple,
    };
  }
  return out;
}

/**
 * The local TCP ports of `pid`'s connections to PostgreSQL's port: how pg_stat_activity
 * (client_port) tells this process's backends from those of the other processes on the machine.
 * /proc/net/tcp is read again only when the process's sockets changed: the kernel walks its whole
 * connection table to print it (~10 ms here), and the watchers ask several times a second — the
 * bench's own CPU competing with what it measures.
 */
export function postgresClientPorts(pid, pgPort = 5432) {
  const inodes = new Set();
  let fds = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return new Set();
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const sockets = `${pgPort} ${[...inodes].sort().join(' ')}`;
  const cached = portsSeen.get(pid);
  if (cached !== undefined && cached.sockets === sockets) return new Set(cached.ports);
  const ports = new Set();
  const remote = pgPort.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9])) continue;
      if (f[2].split(':')[1] !== remote) continue;
      ports.add(parseInt(f[1].split(':')[1], 16));
    }
  }
  portsSeen.set(pid, { sockets, ports: new Set(ports) });
  return ports;
}

/** Per process: its sockets (inodes) when last looked up, and their PostgreSQL client ports. */
const portsSeen = new Map();

/**
 * Samples pg_stat_activity every `everyMs` while running: for each backend of a watched process
 * waiting on a lock (wait_event_type = 'Lock'), the time between samples counts as lock wait, as
 * held by another watched process when one of its blockers (pg_blocking_pids) is one, else as held
 * by the same process (its other batch). A sampled figure: waits shorter than the interval are
 * seen in proportion to their length, on average. The samples are taken inside PostgreSQL, by a
 * function of the connection's own (pg_temp) that reads pg_stat_activity `perCall` times a call:
 * one round trip a call instead of a query per sample, which cost PostgreSQL ~1 ms and the bench
 * its client's work every 20 ms, on the cores rating ran on. `db` is a connection of its own: a
 * call holds it for perCall × everyMs.
 */
export class LockWaitSampler {
  constructor(db, pids, everyMs = 20, perCall = 25) {
    this.db = db;
    this.pids = pids;
    this.everyMs = everyMs;
    this.perCall = perCall;
    this.byOther = 0;
    this.bySame = 0;
    this.byStatement = new Map();
    this.samples = 0;
    this.connections = 0;
    this.running = false;
  }

  start() {
    this.running = true;
    this.done = this.loop();
  }

  async stop() {
    this.running = false;
    await this.done;
    return {
      otherSeconds: this.byOther / 1000,
      sameSeconds: this.bySame / 1000,
      samples: this.samples,
      connections: this.connections,
      statements: [...this.byStatement]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([q, ms]) => ({ statement: q, seconds: ms / 1000 })),
    };
  }

  async loop() {
    // Each sample's rows: the waiting backends' ports, statements and blockers' ports; then a
    // row with a null port and the call's elapsed milliseconds. pg_stat_clear_snapshot: a
    // transaction reads backends' activity once unless told to read it again.
    await this.db.query(
      `CREATE FUNCTION pg_temp.bench_lock_waits(samples int, pause float8)
       RETURNS TABLE (client_port int, q text, blockers int[], elapsed_ms float8)
       LANGUAGE plpgsql AS $$
       DECLARE t0 timestamptz := clock_timestamp();
       BEGIN
         FOR i IN 1..samples LOOP
           PERFORM pg_stat_clear_snapshot();
           RETURN QUERY
             SELECT a.client_port, left(regexp_replace(a.query, '\\s+', ' ', 'g'), 60),
                    (SELECT array_agg(b.client_port) FROM pg_stat_activity b
                     WHERE b.pid = ANY (pg_blocking_pids(a.pid))), NULL::float8
             FROM pg_stat_activity a WHERE a.wait_event_type = 'Lock';
           PERFORM pg_sleep(pause);
         END LOOP;
         RETURN QUERY SELECT NULL::int, NULL::text, NULL::int[],
           extract(epoch FROM clock_timestamp() - t0)::float8 * 1000;
       END $$`,
    );
    while (this.running) {
      const { rows } = await this.db
        .query('SELECT * FROM pg_temp.bench_lock_waits($1, $2)', [
          this.perCall,
          this.everyMs / 1000,
        ])
        .catch(() => ({ rows: [] }));
      const end = rows.at(-1);
      if (end === undefined || end.client_port !== null) continue;
      // Pools open connections as they need them: looked up after each call, before its rows.
      const owner = new Map();
      this.pids().forEach((pid, i) => {
        for (const port of postgresClientPorts(pid)) owner.set(port, i);
      });
      this.connections = Math.max(this.connections, owner.size);
      this.samples += this.perCall;
      // Each sample stands for its share of the call's time.
      const each = end.elapsed_ms / this.perCall;
      for (const r of rows) {
        const waiter = owner.get(r.client_port);
        if (waiter === undefined) continue;
        const blockers = (r.blockers ?? []).map((p) => owner.get(p));
        if (blockers.some((b) => b !== undefined && b !== waiter)) this.byOther += each;
        else this.bySame += each;
        this.byStatement.set(r.q, (this.byStatement.get(r.q) ?? 0) + each);
      }
    }
  }
}
