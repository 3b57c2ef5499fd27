// The CPU PostgreSQL spends on the benchmark's own connections, not on the whole server: the stack's
// PostgreSQL is shared (other benches, other specs), so the CPU of all `postgres` processes says
// little about what rating costs it. A backend is a process of its own: this finds the backends of
// the watched processes' connections (their client ports in pg_stat_activity, as
// bench/ledger-watch.mjs tells them apart) and reads their CPU from /proc/<backend>/stat.
import { setTimeout as sleep } from 'node:timers/promises';
import { TICKS_PER_S, cpuTicks } from '@metering/testing';
import { postgresClientPorts } from '../ledger-watch.mjs';

/**
 * Samples, every `everyMs`, the CPU ticks of the backends serving `pids()`'s connections (rating)
 * and those of `benchPid`'s (this script's own polling): a backend's last reading counts, so the
 * CPU of a backend whose connection closed between two samples is short by at most one interval.
 * Works when PostgreSQL runs on this machine (its backends' /proc entries readable); otherwise
 * the figures stay 0 and `visible` false.
 */
export class BackendCpuSampler {
  constructor(db, pids, benchPid = process.pid, everyMs = 200) {
    this.db = db;
    this.pids = pids;
    this.benchPid = benchPid;
    this.everyMs = everyMs;
    /** backend pid → { ticks at first sight, last ticks, whose: 'rating' | 'bench' } */
    this.backends = new Map();
    this.visible = false;
    this.running = false;
  }

  start() {
    this.running = true;
    this.done = this.loop();
  }

  /** Stops and returns { ratingSeconds, benchSeconds, backends: rating's backend pids }. */
  async stop() {
    this.running = false;
    await this.done;
    await this.sample();
    let ratingTicks = 0;
    let benchTicks = 0;
    for (const b of this.backends.values()) {
      if (b.whose === 'rating') ratingTicks += b.last - b.first;
      else benchTicks += b.last - b.first;
    }
    return {
      ratingSeconds: ratingTicks / TICKS_PER_S,
      benchSeconds: benchTicks / TICKS_PER_S,
      visible: this.visible,
      backends: [...this.backends].filter(([, b]) => b.whose === 'rating').map(([pid]) => pid),
    };
  }

  async loop() {
    while (this.running) {
      await this.sample();
      await sleep(this.everyMs);
    }
  }

  async sample() {
    const ports = new Map();
    for (const pid of this.pids())
      for (const port of postgresClientPorts(pid)) ports.set(port, 'rating');
    for (const port of postgresClientPorts(this.benchPid)) ports.set(port, 'bench');
    if (ports.size === 0) return;
    const { rows } = await this.db
      .query(
        `SELECT pid, client_port FROM pg_stat_activity
         WHERE client_addr IS NOT NULL AND client_port = ANY($1::int[])`,
        [[...ports.keys()]],
      )
      .catch(() => ({ rows: [] }));
    for (const r of rows) {
      let ticks;
      try {
        ticks = cpuTicks(r.pid);
      } catch {
        continue; // not on this machine, or ended meanwhile
      }
      this.visible = true;
      const known = this.backends.get(r.pid);
      if (known === undefined) {
        // A backend first seen after it started (a pooled connection opened before the sampler):
        // what it used before is not this run's. Rating's connections open after start(), so
        // their first reading is near 0 and counts from 0.
        const whose = ports.get(r.client_port);
        this.backends.set(r.pid, { first: whose === 'rating' ? 0 : ticks, last: ticks, whose });
      } else known.last = Math.max(known.last, ticks);
    }
  }
}
