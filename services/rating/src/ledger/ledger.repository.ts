import { type DataSource, type EntityManager } from 'typeorm';
import {
  type AmountUnits,
  type BucketUsage,
  type InstanceState,
  type MonthPosition,
  type PlanAssignment,
  type PricedUsage,
  amount as formatAmount,
  amountUnitsOf,
  bucketKey,
  byteSeconds,
  coreSeconds,
  cpuUnitsOfCoreSeconds,
  gibSeconds,
  instanceKey,
  memoryUnitsOfByteSeconds,
  memoryUnitsOfGibSeconds,
  positionKey,
  type ResourceSighting,
} from '../domain';
import { type CompletenessCounters } from '@metering/pricing';
import { plainArray, textArray } from './pg-arrays';

/**
 * A bucket's running totals as the ledger holds them (decimal strings, exact): what the InfluxDB
 * `usage` measurement shows.
 */
/** Where a page of a tenant's buckets ends: the next page starts after it. */
export interface BucketCursor {
  readonly startMs: number;
  readonly resourceId: string;
}

export interface BucketTotals {
  readonly tenantId: string;
  readonly resourceId: string;
  readonly resourceKind: 'container' | 'vm';
  readonly bucketStartMs: number;
  readonly cpuUsageCoreSeconds: string;
  readonly memoryUsageByteSeconds: string;
  readonly amount: string;
  readonly observedMs: number;
  readonly gapMs: number;
  /**
   * The bucket's completeness counters (libs/pricing completeness.ts), as committed; absent: only
   * observedMs and gapMs are known (judged by time).
   */
  readonly completeness?: CompletenessCounters;
}

export interface PlanRow {
  id: string;
  version: number;
  currency: string;
  basis: 'usage' | 'allocation' | 'max';
  cpu_tiers: { upTo: string | null; unitPrice: string }[] | null;
  memory_tiers: { upTo: string | null; unitPrice: string }[] | null;
  minimum: string;
}

export interface CatalogRows {
  readonly tenants: readonly { id: string; timeZone: string; currency: string }[];
  readonly plans: readonly PlanRow[];
  readonly assignments: readonly PlanAssignment[];
}

/** Where the ledger finds the fingerprint of the message before the offset it stores. */
export interface OffsetFingerprints {
  /** SHA-256 of the message at `nextOffset - 1` of the partition; null when unknown. */
  of(topic: string, partition: number, nextOffset: string): Buffer | null;
}

/** One partition's position: the next offset to consume. */
export interface StoredOffset {
  readonly topic: string;
  readonly partition: number;
  readonly nextOffset: string;
}

/**
 * The ledger's SQL, one statement per kind of row, each a set-based `unnest` so a batch costs a
 * handful of round trips whatever its size. Every method takes the transaction's EntityManager:
 * callers decide what commits together.
 */
export class LedgerRepository {
  /**
   * @param fingerprints where writeBatch finds the fingerprint of the message before the offset it
   *   stores (offset continuity); without it the fingerprint is stored as unknown (NULL).
   */
  constructor(
    private readonly dataSource: DataSource,
    private readonly fingerprints: OffsetFingerprints | null = null,
  ) {}

  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction('READ COMMITTED', work);
  }

  /**
   * Locks the partition's offset row for the rest of the transaction and returns the stored
   * position, in one round trip (an upsert that touches the row takes its lock, and under READ
   * COMMITTED a waiter sees the committed row). Two consumers that both think they own a partition
   * (during a rebalance) serialize here, and the second one sees what the first committed.
   */
  async lockOffset(
    tx: EntityManager,
    groupId: string,
    topic: string,
    partition: number,
  ): Promise<string | null> {
    const rows = await tx.query<{ next_offset: string }[]>(
      `INSERT INTO consumer_offset AS o (group_id, topic, partition, next_offset)
       VALUES ($1, $2, $3, -1)
       ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = o.next_offset
       RETURNING next_offset::text`,
      [groupId, topic, partition],
    );
    const stored = rows[0]?.next_offset;
    return stored === undefined || stored === '-1' ? null : stored;
  }

  async storeOffset(
    tx: EntityManager,
    groupId: string,
    topic: string,
    partition: number,
    nextOffset: string,
  ): Promise<void> {
    await tx.query(
      `UPDATE consumer_offset SET next_offset = $4, updated_at = now()
       WHERE group_id = $1 AND topic = $2 AND partition = $3`,
      [groupId, topic, partition, nextOffset],
    );
  }

  async loadOffsets(groupId: string, topics: readonly string[]): Promise<StoredOffset[]> {
    const rows = await this.dataSource.query<
      { topic: string; partition: number; next_offset: string }[]
    >(
      `SELECT topic, partition, next_offset::text FROM consumer_offset
       WHERE group_id = $1 AND topic = ANY($2) AND next_offset >= 0`,
      [groupId, topics],
    );
    return rows.map((r) => ({ topic: r.topic, partition: r.partition, nextOffset: r.next_offset }));
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
    tx: EntityManager,
    keys: readonly { resourceId: string; instanceId: string }[],
  ): Promise<{ states: Map<string, InstanceState>; windows: Map<string, PricedUsage> }> {
    const states = new Map<string, InstanceState>();
    const windows = new Map<string, PricedUsage>();
    if (keys.length === 0) return { states, windows };
    this.addStateRows(await this.selectStates(tx, keys), states, windows);
    const missing = keys.filter((k) => !states.has(instanceKey(k)));
    if (missing.length > 0) {
      await tx.query(
        `SELECT pg_advisory_xact_lock(hashtext('instance_state'), h)
         FROM (SELECT DISTINCT hashtext(r) AS h FROM unnest($1::text[]) AS r ORDER BY 1) AS x`,
        [missing.map((k) => k.resourceId)],
      );
      this.addStateRows(await this.selectStates(tx, missing), states, windows);
    }
    return { states, windows };
  }

  private selectStates(
    tx: EntityManager,
    keys: readonly { resourceId: string; instanceId: string }[],
  ): Promise<StateRow[]> {
    return tx.query<StateRow[]>(
      `SELECT s.resource_id, s.instance_id, s.tenant_id, s.resource_kind,
              (extract(epoch from s.started_at) * 1000)::bigint::text AS started_ms,
              (extract(epoch from s.last_observed_at) * 1000)::bigint::text AS observed_ms,
              s.last_cpu_usage_ns::text, s.last_memory_usage_bytes::text,
              s.last_cpu_allocation_cores::text, s.last_memory_allocation_bytes::text, s.final,
              s.pending_usage
       FROM instance_state s
       JOIN unnest($1::text[], $2::text[]) AS k(resource_id, instance_id)
         ON s.resource_id = k.resource_id AND s.instance_id = k.instance_id
       ORDER BY s.resource_id, s.instance_id
       FOR UPDATE OF s`,
      [textArray(keys.map((k) => k.resourceId)), textArray(keys.map((k) => k.instanceId))],
    );
  }

  private addStateRows(
    rows: readonly StateRow[],
    states: Map<string, InstanceState>,
    windows: Map<string, PricedUsage>,
  ): void {
    for (const r of rows) {
      const state: InstanceState = {
        tenantId: r.tenant_id,
        resourceKind: r.resource_kind,
        resourceId: r.resource_id,
        instanceId: r.instance_id,
        startedAtMs: Number(r.started_ms),
        lastObservedAtMs: Number(r.observed_ms),
        lastCpuUsageNs: BigInt(r.last_cpu_usage_ns),
        lastMemoryUsageBytes: BigInt(r.last_memory_usage_bytes),
        lastCpuAllocationCores: r.last_cpu_allocation_cores,
        lastMemoryAllocationBytes:
          r.last_memory_allocation_bytes === null ? null : BigInt(r.last_memory_allocation_bytes),
        final: r.final,
      };
      const key = instanceKey(state);
      states.set(key, state);
      if (r.pending_usage !== null) windows.set(key, windowFromJson(r.pending_usage));
    }
  }

  /**
   * Upserts the resource dimension rows (domain/resource-dimension.ts): the description with the
   * latest observed time wins, first seen only moves back, last seen only forward. Rows come
   * unique and in key order, so concurrent batches lock them in one order.
   */
  async upsertResources(tx: EntityManager, rows: readonly ResourceSighting[]): Promise<void> {
    if (rows.length === 0) return;
    await tx.query(
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
    tx: EntityManager,
    states: Iterable<InstanceState>,
    windows: ReadonlyMap<string, PricedUsage | null>,
  ): Promise<void> {
    const list = [...states];
    if (list.length === 0) return;
    await tx.query(
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

  /** Adds complete usage events to the outbox, in the caller's transaction; returns their ids. */
  async addToOutbox(
    tx: EntityManager,
    events: { readonly keys: readonly string[]; readonly values: readonly string[] },
  ): Promise<string[]> {
    if (events.keys.length === 0) return [];
    const rows = await tx.query<{ id: string }[]>(
      `INSERT INTO usage_outbox (tenant_id, payload)
       SELECT * FROM unnest($1::text[], $2::text[])
       RETURNING id::text`,
      [textArray(events.keys), textArray(events.values)],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Takes the open usage windows of instances no batch has touched for `idleMs` (they stopped
   * without a final sample, or their samples stopped coming): locks them, skipping any a batch
   * holds, and clears them in this transaction. The caller adds them to the outbox.
   */
  async takeIdleWindows(tx: EntityManager, idleMs: number, limit: number): Promise<PricedUsage[]> {
    const rows = await tx.query<{ pending_usage: WindowJson }[]>(
      `WITH idle AS (
         SELECT resource_id, instance_id FROM instance_state
         WHERE pending_usage IS NOT NULL AND updated_at < now() - $1::numeric * interval '1 ms'
         ORDER BY updated_at LIMIT $2
         FOR UPDATE SKIP LOCKED
       ), taken AS (
         SELECT s.resource_id, s.instance_id, s.pending_usage FROM instance_state s
         JOIN idle USING (resource_id, instance_id)
       ), cleared AS (
         UPDATE instance_state s SET pending_usage = NULL
         FROM idle WHERE s.resource_id = idle.resource_id AND s.instance_id = idle.instance_id
       )
       SELECT pending_usage FROM taken`,
      [String(idleMs), limit],
    );
    return rows.map((r) => windowFromJson(r.pending_usage));
  }

  /** Outbox rows older than `minAgeMs` (not being published by the batch that wrote them). */
  async outboxBacklog(minAgeMs: number, limit: number): Promise<OutboxRow[]> {
    const rows = await this.dataSource.query<{ id: string; tenant_id: string; payload: string }[]>(
      `SELECT id::text, tenant_id, payload FROM usage_outbox
       WHERE created_at < now() - $1::numeric * interval '1 ms'
       ORDER BY id LIMIT $2`,
      [String(minAgeMs), limit],
    );
    return rows.map((r) => ({ id: r.id, key: r.tenant_id, value: r.payload }));
  }

  /** Events Kafka has acknowledged. */
  async deleteFromOutbox(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.dataSource.query(`DELETE FROM usage_outbox WHERE id = ANY($1::bigint[])`, [ids]);
  }

  /** Rows waiting in the outbox and the age of the oldest, in seconds (the outbox gauges). */
  async outboxDepth(): Promise<{ rows: number; oldestSeconds: number }> {
    const rows = await this.dataSource.query<{ n: string; age: string | null }[]>(
      `SELECT count(*)::text AS n, extract(epoch from now() - min(created_at))::text AS age
       FROM usage_outbox`,
    );
    return { rows: Number(rows[0]?.n ?? 0), oldestSeconds: Number(rows[0]?.age ?? 0) };
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
    tx: EntityManager,
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
    const rows = await tx.query<BucketTotalsRow[]>(
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
    return rows.map(toBucketTotals);
  }

  /**
   * Locks the month positions (in the order given: callers sort, so batches never deadlock)
   * and returns them; a month seen for the first time starts at zero. One round trip.
   */
  async lockPositions(
    tx: EntityManager,
    keys: readonly { tenantId: string; period: string }[],
  ): Promise<Map<string, MonthPosition>> {
    if (keys.length === 0) return new Map();
    const rows = await tx.query<PositionRow[]>(
      `INSERT INTO tenant_month_position AS p (tenant_id, period)
       SELECT t, m FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS x(t, m, n) ORDER BY n
       ON CONFLICT (tenant_id, period) DO UPDATE SET updated_at = p.updated_at
       RETURNING ${POSITION_COLUMNS}`,
      [keys.map((k) => k.tenantId), keys.map((k) => k.period)],
    );
    return positionsByKey(rows);
  }

  /**
   * The month positions as last committed, without locking them (a month not stored yet is
   * absent): what a batch prices from when some of its months are in flight in this process, so
   * that it takes all its position locks at once, later, in confirmPositions.
   */
  async readPositions(
    tx: EntityManager,
    keys: readonly { tenantId: string; period: string }[],
  ): Promise<Map<string, MonthPosition>> {
    if (keys.length === 0) return new Map();
    const rows = await tx.query<PositionRow[]>(
      `SELECT ${POSITION_COLUMNS} FROM tenant_month_position
       WHERE (tenant_id, period) IN (SELECT * FROM unnest($1::text[], $2::bpchar[]))`,
      [keys.map((k) => k.tenantId), keys.map((k) => k.period)],
    );
    return positionsByKey(rows);
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
  async confirmPositions(tx: EntityManager, expected: readonly MonthPosition[]): Promise<void> {
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

  /** The first and last bucket start of a tenant from `fromMs` on; null when it has none. */
  async tenantBucketSpan(
    tenantId: string,
    fromMs: number,
  ): Promise<{ firstMs: number; lastMs: number } | null> {
    const rows = await this.dataSource.query<{ first_ms: string | null; last_ms: string | null }[]>(
      `SELECT (extract(epoch from min(bucket_start)) * 1000)::bigint::text AS first_ms,
              (extract(epoch from max(bucket_start)) * 1000)::bigint::text AS last_ms
       FROM usage_bucket WHERE tenant_id = $1 AND bucket_start >= to_timestamp($2::numeric / 1000)`,
      [tenantId, String(fromMs)],
    );
    const r = rows[0];
    if (r?.first_ms == null || r.last_ms == null) return null;
    return { firstMs: Number(r.first_ms), lastMs: Number(r.last_ms) };
  }

  /**
   * A page of a tenant's buckets whose start lies in [fromMs, toMs), exact, in time order then
   * resource id (byte order), after `after` (keyset paging: a month of many resources never has
   * to be in memory at once).
   */
  async loadTenantBucketsPage(
    tx: EntityManager,
    tenantId: string,
    range: { fromMs: number; toMs: number },
    after: BucketCursor | null,
    limit: number,
  ): Promise<BucketUsage[]> {
    const rows = await tx.query<Record<string, string>[]>(
      `SELECT resource_id, resource_kind,
              (extract(epoch from bucket_start) * 1000)::bigint::text AS start_ms,
              cpu_usage_core_seconds::text AS c1, cpu_allocation_core_seconds::text AS c2,
              cpu_max_core_seconds::text AS c3, memory_usage_byte_seconds::text AS m1,
              memory_allocation_byte_seconds::text AS m2, memory_max_byte_seconds::text AS m3,
              observed_ms::text AS o, gap_ms::text AS g, inferred_gap_ms::text AS ig,
              samples_expected::text AS se, samples_observed::text AS so,
              samples_thinned::text AS st, declared_ms::text AS dm, declared_gap_ms::text AS dg
       ${TENANT_PAGE}`,
      tenantPageParams(tenantId, range, after, limit),
    );
    return rows.map((r) => ({
      tenantId,
      resourceKind: r['resource_kind'] as 'container' | 'vm',
      resourceId: r['resource_id']!,
      bucketStartMs: Number(r['start_ms']),
      cpuUsage: cpuUnitsOfCoreSeconds(r['c1']!),
      cpuAllocation: cpuUnitsOfCoreSeconds(r['c2']!),
      cpuMax: cpuUnitsOfCoreSeconds(r['c3']!),
      memoryUsage: memoryUnitsOfByteSeconds(r['m1']!),
      memoryAllocation: memoryUnitsOfByteSeconds(r['m2']!),
      memoryMax: memoryUnitsOfByteSeconds(r['m3']!),
      observedMs: Number(r['o']),
      gapMs: Number(r['g']),
      inferredGapMs: Number(r['ig']),
      samplesExpected: Number(r['se']),
      samplesObserved: Number(r['so']),
      samplesThinned: Number(r['st']),
      declaredMs: Number(r['dm']),
      declaredGapMs: Number(r['dg']),
    }));
  }

  /** Replaces the charges of repriced buckets (the caller holds the month position's lock). */
  async storeRepricedBuckets(
    tx: EntityManager,
    tenantId: string,
    amounts: ReadonlyMap<string, AmountUnits>,
    buckets: readonly BucketUsage[],
  ): Promise<void> {
    if (buckets.length === 0) return;
    await tx.query(
      `UPDATE usage_bucket AS b SET amount = x.a, updated_at = now()
       FROM unnest($2::text[], $3::numeric[], $4::numeric[]) AS x(r, s, a)
       WHERE b.tenant_id = $1 AND b.resource_id = x.r
         AND b.bucket_start = to_timestamp(x.s / 1000)`,
      [
        tenantId,
        buckets.map((b) => b.resourceId),
        plainArray(buckets.map((b) => String(b.bucketStartMs))),
        plainArray(buckets.map((b) => formatAmount(amounts.get(bucketKey(b)) ?? 0n))),
      ],
    );
  }

  /**
   * Replaces a repriced month's position (locked by lockPositions in this transaction), or
   * deletes it when no plan prices the month.
   */
  async storeRepricedPosition(
    tx: EntityManager,
    tenantId: string,
    period: string,
    position: MonthPosition | null,
  ): Promise<void> {
    if (position === null) {
      await tx.query(`DELETE FROM tenant_month_position WHERE tenant_id = $1 AND period = $2`, [
        tenantId,
        period,
      ]);
      return;
    }
    await tx.query(
      `UPDATE tenant_month_position SET cpu_core_seconds = $3, memory_gib_seconds = $4,
         cpu_amount = $5, memory_amount = $6, updated_at = now()
       WHERE tenant_id = $1 AND period = $2`,
      [
        tenantId,
        period,
        coreSeconds(position.cpu),
        gibSeconds(position.memory),
        formatAmount(position.cpuAmount),
        formatAmount(position.memoryAmount),
      ],
    );
  }

  /** A page of a tenant's bucket totals in [fromMs, toMs), in the order of loadTenantBucketsPage. */
  async tenantBucketTotalsPage(
    tenantId: string,
    range: { fromMs: number; toMs: number },
    after: BucketCursor | null,
    limit: number,
  ): Promise<BucketTotals[]> {
    const rows = await this.dataSource.query<BucketTotalsRow[]>(
      `SELECT ${BUCKET_TOTALS_COLUMNS} ${TENANT_PAGE}`,
      tenantPageParams(tenantId, range, after, limit),
    );
    return rows.map(toBucketTotals);
  }

  /** The plan assignments rating last priced each tenant's buckets with. */
  async loadPricedAssignments(): Promise<PlanAssignment[]> {
    const rows = await this.dataSource.query<AssignmentRow[]>(
      `SELECT ${ASSIGNMENT_COLUMNS} FROM rating_priced_assignment`,
    );
    return rows.map(toAssignment);
  }

  /** Records the assignments a tenant's buckets are now priced with (replacing the earlier). */
  async storePricedAssignments(
    tenantId: string,
    assignments: readonly PlanAssignment[],
  ): Promise<void> {
    await this.transaction(async (tx) => {
      // Rating processes that noticed the same change store it in turns (else both insert the
      // rows the other's uncommitted delete-and-insert could not show them: a duplicate key).
      await tx.query(
        `SELECT pg_advisory_xact_lock(hashtext('rating_priced_assignment'), hashtext($1))`,
        [tenantId],
      );
      await tx.query(`DELETE FROM rating_priced_assignment WHERE tenant_id = $1`, [tenantId]);
      if (assignments.length === 0) return;
      await tx.query(
        `INSERT INTO rating_priced_assignment (tenant_id, effective_from, plan_id, plan_version)
         SELECT $1, to_timestamp(f::numeric / 1000), p, v
         FROM unnest($2::text[], $3::text[], $4::int[]) AS x(f, p, v)`,
        [
          tenantId,
          assignments.map((a) => String(a.effectiveFromMs)),
          assignments.map((a) => a.planId),
          assignments.map((a) => a.planVersion),
        ],
      );
    });
  }

  /** Buckets whose start lies in [fromMs, toMs): how much a backfill has to write. */
  async countBuckets(fromMs: number, toMs: number): Promise<number> {
    const rows = await this.dataSource.query<{ n: string }[]>(
      `SELECT count(*)::text AS n FROM usage_bucket
       WHERE bucket_start >= to_timestamp($1::numeric / 1000) AND bucket_start < to_timestamp($2::numeric / 1000)`,
      [String(fromMs), String(toMs)],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * The running totals of every bucket whose start lies in [fromMs, toMs), in pages, from one
   * consistent snapshot (a cursor in a read-only REPEATABLE READ transaction), however many rows.
   */
  async *streamBucketTotals(
    fromMs: number,
    toMs: number,
    pageSize: number,
  ): AsyncGenerator<BucketTotals[]> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await runner.query(
        `DECLARE bucket_totals NO SCROLL CURSOR FOR
         SELECT ${BUCKET_TOTALS_COLUMNS} FROM usage_bucket
         WHERE bucket_start >= to_timestamp($1::numeric / 1000)
           AND bucket_start < to_timestamp($2::numeric / 1000)`,
        [String(fromMs), String(toMs)],
      );
      for (;;) {
        const rows = (await runner.query(
          `FETCH ${Math.max(1, Math.floor(pageSize))} FROM bucket_totals`,
        )) as BucketTotalsRow[];
        if (rows.length === 0) break;
        yield rows.map(toBucketTotals);
      }
      await runner.query('COMMIT');
    } finally {
      // A stopped iteration leaves the transaction open: releasing rolls it back.
      if (runner.isTransactionActive) await runner.query('ROLLBACK').catch(() => undefined);
      await runner.release();
    }
  }

  /** Every stored month position (the table holds one row per tenant and month). */
  async allPositions(): Promise<MonthPosition[]> {
    const rows = await this.dataSource.query<PositionRow[]>(
      `SELECT ${POSITION_COLUMNS} FROM tenant_month_position`,
    );
    return rows.map(toPosition);
  }

  /** Registered tenants, every plan version and every assignment: the pricing catalog. */
  async loadCatalog(): Promise<CatalogRows> {
    const tenants = await this.dataSource.query<
      { id: string; time_zone: string; currency: string }[]
    >(`SELECT id, time_zone, currency FROM tenant`);
    const plans = await this.dataSource.query<PlanRow[]>(
      `SELECT id, version, currency, basis, cpu_tiers, memory_tiers, minimum::text AS minimum
       FROM price_plan`,
    );
    const assignments = await this.dataSource.query<AssignmentRow[]>(
      `SELECT ${ASSIGNMENT_COLUMNS} FROM plan_assignment`,
    );
    return {
      tenants: tenants.map((t) => ({ id: t.id, timeZone: t.time_zone, currency: t.currency })),
      plans,
      assignments: assignments.map(toAssignment),
    };
  }
}

/**
 * A tenant's buckets in [$2, $3) (epoch ms) after the cursor ($4 ms, $5 resource id; null: from
 * the start), in time order then resource id (byte order), $6 at most: keyset paging.
 */
const TENANT_PAGE = `FROM usage_bucket
  WHERE tenant_id = $1 AND bucket_start >= to_timestamp($2::numeric / 1000)
    AND bucket_start < to_timestamp($3::numeric / 1000)
    AND ($4::numeric IS NULL
         OR (bucket_start, resource_id COLLATE "C") > (to_timestamp($4::numeric / 1000), $5))
  ORDER BY bucket_start, resource_id COLLATE "C"
  LIMIT $6`;

function tenantPageParams(
  tenantId: string,
  range: { fromMs: number; toMs: number },
  after: BucketCursor | null,
  limit: number,
): unknown[] {
  return [
    tenantId,
    String(range.fromMs),
    String(range.toMs),
    after === null ? null : String(after.startMs),
    after?.resourceId ?? null,
    limit,
  ];
}

const ASSIGNMENT_COLUMNS = `tenant_id,
  (extract(epoch from effective_from) * 1000)::bigint::text AS from_ms, plan_id, plan_version`;

interface AssignmentRow {
  tenant_id: string;
  from_ms: string;
  plan_id: string;
  plan_version: number;
}

function toAssignment(a: AssignmentRow): PlanAssignment {
  return {
    tenantId: a.tenant_id,
    effectiveFromMs: Number(a.from_ms),
    planId: a.plan_id,
    planVersion: a.plan_version,
  };
}

const BUCKET_TOTALS_COLUMNS = `tenant_id, resource_id, resource_kind,
  (extract(epoch from bucket_start) * 1000)::bigint::text AS start_ms,
  cpu_usage_core_seconds::text AS cpu, memory_usage_byte_seconds::text AS memory,
  amount::text AS amount, observed_ms::text AS observed_ms, gap_ms::text AS gap_ms,
  inferred_gap_ms::text AS inferred_gap_ms, samples_expected::text AS samples_expected,
  samples_observed::text AS samples_observed, samples_thinned::text AS samples_thinned,
  declared_ms::text AS declared_ms, declared_gap_ms::text AS declared_gap_ms`;

/**
 * A month position is not what a batch priced from (the batch it followed rolled back): the batch
 * rolls back and is rated again.
 */
export class PositionConflictError extends Error {
  readonly code = 'POSITION_CONFLICT';
  readonly retriable = true;
}

interface BucketTotalsRow {
  moved?: number;
  tenant_id: string;
  resource_id: string;
  resource_kind: 'container' | 'vm';
  start_ms: string;
  cpu: string;
  memory: string;
  amount: string;
  observed_ms: string;
  gap_ms: string;
  inferred_gap_ms: string;
  samples_expected: string;
  samples_observed: string;
  samples_thinned: string;
  declared_ms: string;
  declared_gap_ms: string;
}

export function toBucketTotals(r: BucketTotalsRow): BucketTotals {
  return {
    tenantId: r.tenant_id,
    resourceId: r.resource_id,
    resourceKind: r.resource_kind,
    bucketStartMs: Number(r.start_ms),
    cpuUsageCoreSeconds: r.cpu,
    memoryUsageByteSeconds: r.memory,
    amount: r.amount,
    observedMs: Number(r.observed_ms),
    gapMs: Number(r.gap_ms),
    completeness: {
      observedMs: BigInt(r.observed_ms),
      gapMs: BigInt(r.gap_ms),
      inferredGapMs: BigInt(r.inferred_gap_ms),
      samplesExpected: BigInt(r.samples_expected),
      samplesObserved: BigInt(r.samples_observed),
      samplesThinned: BigInt(r.samples_thinned),
      declaredMs: BigInt(r.declared_ms),
      declaredGapMs: BigInt(r.declared_gap_ms),
    },
  };
}

/** Month positions by positionKey. */
function positionsByKey(rows: readonly PositionRow[]): Map<string, MonthPosition> {
  const out = new Map<string, MonthPosition>();
  for (const r of rows) {
    const position = toPosition(r);
    out.set(positionKey(position.tenantId, position.period), position);
  }
  return out;
}

const POSITION_COLUMNS = `tenant_id, period, cpu_core_seconds::text AS cpu,
  memory_gib_seconds::text AS memory, cpu_amount::text AS cpu_amount,
  memory_amount::text AS memory_amount`;

interface PositionRow {
  tenant_id: string;
  period: string;
  cpu: string;
  memory: string;
  cpu_amount: string;
  memory_amount: string;
}

function toPosition(r: PositionRow): MonthPosition {
  return {
    tenantId: r.tenant_id,
    period: r.period,
    cpu: cpuUnitsOfCoreSeconds(r.cpu),
    memory: memoryUnitsOfGibSeconds(r.memory),
    cpuAmount: amountUnitsOf(r.cpu_amount),
    memoryAmount: amountUnitsOf(r.memory_amount),
  };
}

interface StateRow {
  resource_id: string;
  instance_id: string;
  tenant_id: string;
  resource_kind: 'container' | 'vm';
  started_ms: string;
  observed_ms: string;
  last_cpu_usage_ns: string;
  last_memory_usage_bytes: string;
  last_cpu_allocation_cores: string | null;
  last_memory_allocation_bytes: string | null;
  final: boolean;
  pending_usage: WindowJson | null;
}

/** An outbox row: the event's key (tenant) and JSON. */
export interface OutboxRow {
  readonly id: string;
  readonly key: string;
  readonly value: string;
}

/** An open usage window as stored (jsonb): exact figures as decimal strings. */
interface WindowJson {
  tenantId: string;
  resourceKind: 'container' | 'vm';
  resourceId: string;
  instanceId: string;
  fromMs: number;
  toMs: number;
  period: string;
  plan: { id: string; version: number } | null;
  currency: string;
  basis: 'usage' | 'allocation' | 'max';
  cpuUsage: string;
  memoryUsage: string;
  cpuPriced: string;
  memoryPriced: string;
  cpuAmount: string;
  memoryAmount: string;
  gap: boolean;
}

function windowToJson(w: PricedUsage): WindowJson {
  return {
    tenantId: w.tenantId,
    resourceKind: w.resourceKind,
    resourceId: w.resourceId,
    instanceId: w.instanceId,
    fromMs: w.fromMs,
    toMs: w.toMs,
    period: w.period,
    plan: w.plan === null ? null : { id: w.plan.id, version: w.plan.version },
    currency: w.currency,
    basis: w.basis,
    cpuUsage: w.cpuUsage.toString(),
    memoryUsage: w.memoryUsage.toString(),
    cpuPriced: w.cpuPriced.toString(),
    memoryPriced: w.memoryPriced.toString(),
    cpuAmount: w.cpuAmount.toString(),
    memoryAmount: w.memoryAmount.toString(),
    gap: w.gap,
  };
}

function windowFromJson(j: WindowJson): PricedUsage {
  return {
    ...j,
    cpuUsage: BigInt(j.cpuUsage),
    memoryUsage: BigInt(j.memoryUsage),
    cpuPriced: BigInt(j.cpuPriced),
    memoryPriced: BigInt(j.memoryPriced),
    cpuAmount: BigInt(j.cpuAmount),
    memoryAmount: BigInt(j.memoryAmount),
  };
}
