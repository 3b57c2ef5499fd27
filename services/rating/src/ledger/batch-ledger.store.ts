import { z } from 'zod';
import {
  type AmountUnits,
  type BucketUsage,
  type InstanceState,
  type MonthPosition,
  type PricedUsage,
  type ResourceSighting,
  amount as formatAmount,
  bucketKey,
  byteSeconds,
  coreSeconds,
  gibSeconds,
  instanceKey,
  positionKey,
} from '../domain';
import { type LedgerDb, type LedgerTx } from './ledger-db';
import {
  type BucketTotals,
  BUCKET_TOTALS_COLUMNS,
  STATE_COLUMNS,
  writtenBucketRow,
  stateRow,
  windowToJson,
} from './ledger-rows';
import { type MonthKey, lockPositions, readPositions } from './month-positions';
import { plainArray, textArray } from './pg-arrays';

/** Where the ledger finds the fingerprint of the message before the offset it stores. */
export interface OffsetFingerprints {
  /** SHA-256 of the message at `nextOffset - 1` of the partition; null when unknown. */
  of(topic: string, partition: number, nextOffset: string): Buffer | null;
}

/**
 * A month position is not what a batch priced from (the batch it followed rolled back): the batch
 * rolls back and is rated again.
 */
export class PositionConflictError extends Error {
  readonly code = 'POSITION_CONFLICT';
  readonly retriable = true;
}

const offsetRow = z.object({ next_offset: z.string() });

/**
 * The rating batch's transaction (consuming/sample-batch.processor.ts): the partition's offset,
 * the instance states, the resource dimension, the month positions and the buckets, each kind of
 * row in one set-based `unnest` statement so a batch costs a handful of round trips whatever its
 * size. Every method takes the batch's transaction: the caller decides what commits together.
 */
export class BatchLedger {
  /**
   * @param fingerprints where writeBatch finds the fingerprint of the message before the offset it
   *   stores (offset continuity); without it the fingerprint is stored as unknown (NULL).
   */
  constructor(
    private readonly db: LedgerDb,
    private readonly fingerprints: OffsetFingerprints | null = null,
  ) {}

  transaction<T>(work: (tx: LedgerTx) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  /**
   * Locks the partition's offset row for the rest of the transaction and returns the stored
   * position, in one round trip (an upsert that touches the row takes its lock, and under READ
   * COMMITTED a waiter sees the committed row). Two consumers that both think they own a partition
   * (during a rebalance) serialize here, and the second one sees what the first committed.
   */
  async lockOffset(
    tx: LedgerTx,
    groupId: string,
    topic: string,
    partition: number,
  ): Promise<string | null> {
    const rows = await this.db.rows(
      tx,
      offsetRow,
      `INSERT INTO consumer_offset AS o (group_id, topic, partition, next_offset)
       VALUES ($1, $2, $3, -1)
       ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = o.next_offset
       RETURNING next_offset::text`,
      [groupId, topic, partition],
    );
    const stored = rows[0]?.next_offset;
    return stored === undefined || stored === '-1' ? null : stored;
  }

  /**
   * Locks and reads the states and open usage windows of the batch's instances. The lock keeps
   * the idle-window flush (flushIdleWindows) away from instances a batch is rating.
   *
   * An instance without a state row yet has nothing to lock: two batches rating its first samples
   * at once (its samples on two partitions, two rating processes) would both count its usage since
   * `startedAt`. So the first sample is serialised: for the instances not found, the transaction
   * takes an advisory lock per resource (all at once, in one order, so two batches never wait on
   * each other in a cycle) and reads them again — a batch that got there first has committed its
   * state by the time the lock is granted, and this one rates against it.
   */
  async loadStates(
    tx: LedgerTx,
    keys: readonly { resourceId: string; instanceId: string }[],
  ): Promise<{ states: Map<string, InstanceState>; windows: Map<string, PricedUsage> }> {
    const states = new Map<string, InstanceState>();
    const windows = new Map<string, PricedUsage>();
    if (keys.length === 0) return { states, windows };
    this.addStateRows(await this.selectStates(tx, keys), states, windows);
    const missing = keys.filter((k) => !states.has(instanceKey(k)));
    if (missing.length > 0) {
      await this.db.execute(
        tx,
        `SELECT pg_advisory_xact_lock(hashtext('instance_state'), h)
         FROM (SELECT DISTINCT hashtext(r) AS h FROM unnest($1::text[]) AS r ORDER BY 1) AS x`,
        [missing.map((k) => k.resourceId)],
      );
      this.addStateRows(await this.selectStates(tx, missing), states, windows);
    }
    return { states, windows };
  }

  private async selectStates(
    tx: LedgerTx,
    keys: readonly { resourceId: string; instanceId: string }[],
  ): Promise<z.output<typeof stateRow>[]> {
    return this.db.rows(
      tx,
      stateRow,
      `SELECT ${STATE_COLUMNS}
       FROM instance_state s
       JOIN unnest($1::text[], $2::text[]) AS k(resource_id, instance_id)
         ON s.resource_id = k.resource_id AND s.instance_id = k.instance_id
       ORDER BY s.resource_id, s.instance_id
       FOR UPDATE OF s`,
      [textArray(keys.map((k) => k.resourceId)), textArray(keys.map((k) => k.instanceId))],
    );
  }

  private addStateRows(
    rows: readonly z.output<typeof stateRow>[],
    states: Map<string, InstanceState>,
    windows: Map<string, PricedUsage>,
  ): void {
    for (const { state, window } of rows) {
      const key = instanceKey(state);
      states.set(key, state);
      if (window !== null) windows.set(key, window);
    }
  }

  /**
   * Upserts the resource dimension rows (domain/resource-dimension.ts): the description with the
   * latest observed time wins, first seen only moves back, last seen only forward. Rows come
   * unique and in key order, so concurrent batches lock them in one order.
   */
  async upsertResources(tx: LedgerTx, rows: readonly ResourceSighting[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.execute(
      tx,
      `INSERT INTO resource AS r (tenant_id, resource_id, kind, name, image, flavour, host,
         first_seen, last_seen, details_observed_at)
       SELECT t, i, k, n, im, fl, h, to_timestamp(f::numeric / 1000), to_timestamp(l::numeric / 1000),
              to_timestamp(o::numeric / 1000)
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                   $7::text[], $8::text[], $9::text[], $10::text[])
         AS x(t, i, k, n, im, fl, h, f, l, o)
       ON CONFLICT (tenant_id, resource_id) DO UPDATE SET
         (kind, name, image, flavour, host) = (
           SELECT CASE WHEN w THEN EXCLUDED.kind ELSE r.kind END,
                  CASE WHEN w THEN EXCLUDED.name ELSE r.name END,
                  CASE WHEN w THEN EXCLUDED.image ELSE r.image END,
                  CASE WHEN w THEN EXCLUDED.flavour ELSE r.flavour END,
                  CASE WHEN w THEN EXCLUDED.host ELSE r.host END
           FROM (SELECT EXCLUDED.details_observed_at >= r.details_observed_at AS w) AS newer),
         details_observed_at = GREATEST(r.details_observed_at, EXCLUDED.details_observed_at),
         first_seen = LEAST(r.first_seen, EXCLUDED.first_seen),
         last_seen = GREATEST(r.last_seen, EXCLUDED.last_seen)`,
      [
        textArray(rows.map((r) => r.tenantId)),
        textArray(rows.map((r) => r.resourceId)),
        textArray(rows.map((r) => r.kind)),
        textArray(rows.map((r) => r.name)),
        textArray(rows.map((r) => r.image)),
        textArray(rows.map((r) => r.flavour)),
        textArray(rows.map((r) => r.host)),
        plainArray(rows.map((r) => String(r.firstSeenMs))),
        plainArray(rows.map((r) => String(r.lastSeenMs))),
        plainArray(rows.map((r) => String(r.observedMs))),
      ],
    );
  }

  /**
   * Stores the batch's instance states, each with its open usage window (null: none; a state the
   * map does not name keeps no window).
   */
  async saveStates(
    tx: LedgerTx,
    states: Iterable<InstanceState>,
    windows: ReadonlyMap<string, PricedUsage | null>,
  ): Promise<void> {
    const list = [...states];
    if (list.length === 0) return;
    await this.db.execute(
      tx,
      `INSERT INTO instance_state (resource_id, instance_id, tenant_id, resource_kind, started_at,
         last_observed_at, last_cpu_usage_ns, last_memory_usage_bytes, last_cpu_allocation_cores,
         last_memory_allocation_bytes, final, pending_usage, updated_at)
       SELECT r, i, t, k, to_timestamp(s::numeric / 1000), to_timestamp(o::numeric / 1000),
              c, m, ca, ma, f, NULLIF($12::jsonb -> (n - 1)::int, 'null'::jsonb), now()
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                   $7::numeric[], $8::numeric[], $9::numeric[], $10::numeric[], $11::boolean[])
         WITH ORDINALITY AS x(r, i, t, k, s, o, c, m, ca, ma, f, n)
       ON CONFLICT (resource_id, instance_id) DO UPDATE SET
         tenant_id = EXCLUDED.tenant_id,
         last_observed_at = EXCLUDED.last_observed_at,
         last_cpu_usage_ns = EXCLUDED.last_cpu_usage_ns,
         last_memory_usage_bytes = EXCLUDED.last_memory_usage_bytes,
         last_cpu_allocation_cores = EXCLUDED.last_cpu_allocation_cores,
         last_memory_allocation_bytes = EXCLUDED.last_memory_allocation_bytes,
         final = EXCLUDED.final,
         pending_usage = EXCLUDED.pending_usage,
         updated_at = now()`,
      [
        textArray(list.map((s) => s.resourceId)),
        textArray(list.map((s) => s.instanceId)),
        textArray(list.map((s) => s.tenantId)),
        textArray(list.map((s) => s.resourceKind)),
        plainArray(list.map((s) => String(s.startedAtMs))),
        plainArray(list.map((s) => String(s.lastObservedAtMs))),
        plainArray(list.map((s) => s.lastCpuUsageNs.toString())),
        plainArray(list.map((s) => s.lastMemoryUsageBytes.toString())),
        plainArray(list.map((s) => s.lastCpuAllocationCores)),
        plainArray(
          list.map((s) =>
            s.lastMemoryAllocationBytes === null ? null : s.lastMemoryAllocationBytes.toString(),
          ),
        ),
        list.map((s) => s.final),
        // One JSON array (element n-1 for row n): no per-element array escaping.
        JSON.stringify(
          list.map((s) => {
            const w = windows.get(instanceKey(s));
            return w === undefined || w === null ? null : windowToJson(w);
          }),
        ),
      ],
    );
  }

  /**
   * The rest of a batch in one statement (one round trip while the month positions are locked):
   * adds usage and charges to the buckets (rows only grow, by exact NUMERIC addition), stores the
   * moved month positions (locked by lockPositions in this transaction) and the partition's next
   * offset (locked by lockOffset) with the fingerprint of the message before it (offset
   * continuity: consuming/offset-continuity.guard.ts). Returns the buckets' running totals after
   * the addition: what InfluxDB shows once this commits.
   */
  async writeBatch(
    tx: LedgerTx,
    batch: {
      buckets: Iterable<BucketUsage>;
      amounts: ReadonlyMap<string, AmountUnits>;
      /** Moved positions, whose rows this transaction has locked. */
      positions: readonly MonthPosition[];
      offset: { groupId: string; topic: string; partition: number; nextOffset: string };
    },
  ): Promise<BucketTotals[]> {
    const list = [...batch.buckets];
    const { positions } = batch;
    const { offset } = batch;
    const rows = await this.db.rows(
      tx,
      writtenBucketRow,
      `WITH moved AS (
         UPDATE tenant_month_position AS p SET cpu_core_seconds = x.c, memory_gib_seconds = x.m,
           cpu_amount = x.ca, memory_amount = x.ma, updated_at = now()
         FROM unnest($14::text[], $15::bpchar[], $16::numeric[], $17::numeric[], $18::numeric[],
                     $19::numeric[]) AS x(t, per, c, m, ca, ma)
         WHERE p.tenant_id = x.t AND p.period = x.per
         RETURNING 1
       ), stored AS (
         UPDATE consumer_offset SET next_offset = $23, last_fingerprint = $24, updated_at = now()
         WHERE group_id = $20 AND topic = $21 AND partition = $22
       )
       INSERT INTO usage_bucket AS b (tenant_id, resource_id, bucket_start, resource_kind,
         cpu_usage_core_seconds, cpu_allocation_core_seconds, cpu_max_core_seconds,
         memory_usage_byte_seconds, memory_allocation_byte_seconds, memory_max_byte_seconds,
         observed_ms, gap_ms, amount, inferred_gap_ms, samples_expected, samples_observed,
         samples_thinned, declared_ms, declared_gap_ms, updated_at)
       SELECT t, r, to_timestamp(s::numeric / 1000), k, c1, c2, c3, m1, m2, m3, o, g, a,
              ig, se, so, st, dm, dg, now()
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::numeric[],
                   $7::numeric[], $8::numeric[], $9::numeric[], $10::numeric[], $11::bigint[],
                   $12::bigint[], $13::numeric[], $25::bigint[], $26::bigint[], $27::bigint[],
                   $28::bigint[], $29::bigint[], $30::bigint[])
         AS x(t, r, s, k, c1, c2, c3, m1, m2, m3, o, g, a, ig, se, so, st, dm, dg)
       ON CONFLICT (tenant_id, resource_id, bucket_start) DO UPDATE SET
         cpu_usage_core_seconds = b.cpu_usage_core_seconds + EXCLUDED.cpu_usage_core_seconds,
         cpu_allocation_core_seconds = b.cpu_allocation_core_seconds + EXCLUDED.cpu_allocation_core_seconds,
         cpu_max_core_seconds = b.cpu_max_core_seconds + EXCLUDED.cpu_max_core_seconds,
         memory_usage_byte_seconds = b.memory_usage_byte_seconds + EXCLUDED.memory_usage_byte_seconds,
         memory_allocation_byte_seconds = b.memory_allocation_byte_seconds + EXCLUDED.memory_allocation_byte_seconds,
         memory_max_byte_seconds = b.memory_max_byte_seconds + EXCLUDED.memory_max_byte_seconds,
         observed_ms = b.observed_ms + EXCLUDED.observed_ms,
         gap_ms = b.gap_ms + EXCLUDED.gap_ms,
         amount = b.amount + EXCLUDED.amount,
         inferred_gap_ms = b.inferred_gap_ms + EXCLUDED.inferred_gap_ms,
         samples_expected = b.samples_expected + EXCLUDED.samples_expected,
         samples_observed = b.samples_observed + EXCLUDED.samples_observed,
         samples_thinned = b.samples_thinned + EXCLUDED.samples_thinned,
         declared_ms = b.declared_ms + EXCLUDED.declared_ms,
         declared_gap_ms = b.declared_gap_ms + EXCLUDED.declared_gap_ms,
         updated_at = now()
       RETURNING ${BUCKET_TOTALS_COLUMNS}, (SELECT count(*) FROM moved)::int AS moved`,
      [
        textArray(list.map((b) => b.tenantId)),
        textArray(list.map((b) => b.resourceId)),
        plainArray(list.map((b) => String(b.bucketStartMs))),
        textArray(list.map((b) => b.resourceKind)),
        plainArray(list.map((b) => coreSeconds(b.cpuUsage))),
        plainArray(list.map((b) => coreSeconds(b.cpuAllocation))),
        plainArray(list.map((b) => coreSeconds(b.cpuMax))),
        plainArray(list.map((b) => byteSeconds(b.memoryUsage))),
        plainArray(list.map((b) => byteSeconds(b.memoryAllocation))),
        plainArray(list.map((b) => byteSeconds(b.memoryMax))),
        plainArray(list.map((b) => String(b.observedMs))),
        plainArray(list.map((b) => String(b.gapMs))),
        plainArray(list.map((b) => formatAmount(batch.amounts.get(bucketKey(b)) ?? 0n))),
        positions.map((p) => p.tenantId),
        positions.map((p) => p.period),
        positions.map((p) => coreSeconds(p.cpu)),
        positions.map((p) => gibSeconds(p.memory)),
        positions.map((p) => formatAmount(p.cpuAmount)),
        positions.map((p) => formatAmount(p.memoryAmount)),
        offset.groupId,
        offset.topic,
        offset.partition,
        offset.nextOffset,
        this.fingerprints?.of(offset.topic, offset.partition, offset.nextOffset) ?? null,
        plainArray(list.map((b) => String(b.inferredGapMs))),
        plainArray(list.map((b) => String(b.samplesExpected))),
        plainArray(list.map((b) => String(b.samplesObserved))),
        plainArray(list.map((b) => String(b.samplesThinned))),
        plainArray(list.map((b) => String(b.declaredMs))),
        plainArray(list.map((b) => String(b.declaredGapMs))),
      ],
    );
    const storedPositions = rows[0]?.moved ?? 0;
    if (positions.length > 0 && storedPositions !== positions.length) {
      throw new PositionConflictError(
        `${positions.length - storedPositions} of ${positions.length} month positions are missing`,
      );
    }
    return rows.map((r) => r.totals);
  }

  /**
   * Locks the month positions (in the order given: callers sort, so batches never deadlock)
   * and returns them; a month seen for the first time starts at zero. One round trip.
   */
  lockPositions(tx: LedgerTx, keys: readonly MonthKey[]): Promise<Map<string, MonthPosition>> {
    return lockPositions(this.db, tx, keys);
  }

  /**
   * The month positions as last committed, without locking them (a month not stored yet is
   * absent): what a batch prices from when some of its months are in flight in this process, so
   * that it takes all its position locks at once, later, in confirmPositions.
   */
  readPositions(tx: LedgerTx, keys: readonly MonthKey[]): Promise<Map<string, MonthPosition>> {
    return readPositions(this.db, tx, keys);
  }

  /**
   * Locks the month positions a batch priced from without holding their locks (values in flight
   * in this process, or read by readPositions), all in one statement in the order given (callers
   * sort, as for lockPositions), so that two transactions, of this process or of another, never
   * wait for each other's position locks in opposite orders (a deadlock). Waits for the
   * transactions holding them, then checks the ledger holds exactly the values priced from;
   * throws PositionConflictError when not (a batch they came from rolled back, or another process
   * moved them), so this batch rolls back and is rated again.
   */
  async confirmPositions(tx: LedgerTx, expected: readonly MonthPosition[]): Promise<void> {
    if (expected.length === 0) return;
    const found = await this.lockPositions(tx, expected);
    const changed = expected.filter((e) => {
      const f = found.get(positionKey(e.tenantId, e.period));
      return (
        f === undefined ||
        f.cpu !== e.cpu ||
        f.memory !== e.memory ||
        f.cpuAmount !== e.cpuAmount ||
        f.memoryAmount !== e.memoryAmount
      );
    });
    if (changed.length > 0) {
      throw new PositionConflictError(
        `${changed.length} of ${expected.length} month positions changed since they were priced`,
      );
    }
  }
}
