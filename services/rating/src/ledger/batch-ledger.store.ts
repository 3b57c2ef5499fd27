import { z } from 'zod';
import {
  type BucketUsage,
  type InstanceState,
  type ResourceSighting,
  type UnpricedPiece,
  bucketKey,
  byteSeconds,
  coreSeconds,
  instanceKey,
  positionKey,
} from '../domain';
import { type LedgerDb, type LedgerTx } from './ledger-db';
import {
  type BucketTotals,
  BUCKET_TOTALS_COLUMNS,
  STATE_COLUMNS,
  pieceToJson,
  stateRow,
  writtenBucketRow,
} from './ledger-rows';
import { plainArray, textArray } from './pg-arrays';
import { type WrittenPieces } from './written-pieces';

/** Where the ledger finds the fingerprint of the message before the offset it stores. */
export interface OffsetFingerprints {
  /** SHA-256 of the message at `nextOffset - 1` of the partition; null when unknown. */
  of(topic: string, partition: number, nextOffset: string): Buffer | null;
}

const offsetRow = z.object({ next_offset: z.string() });

/**
 * The rating batch's transaction (consuming/sample-batch.processor.ts): the partition's offset,
 * the instance states, the resource dimension, the buckets' quantities and the unpriced pieces,
 * each kind of row in one set-based `unnest` statement so a batch costs a handful of round trips
 * whatever its size. Every row it locks is keyed by the batch's partition or resources: no
 * tenant-wide row (the month positions are the pricing stage's, pricing.store.ts). Every method
 * takes the batch's transaction: the caller decides what commits together.
 */
export class BatchLedger {
  /**
   * @param fingerprints where writeBatch finds the fingerprint of the message before the offset it
   *   stores (offset continuity); without it the fingerprint is stored as unknown (NULL).
   * @param written where writeBatch leaves the piece rows it inserted, for the pricing pass.
   */
  constructor(
    private readonly db: LedgerDb,
    private readonly fingerprints: OffsetFingerprints | null = null,
    private readonly written: WrittenPieces | null = null,
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
   * Locks and reads the states of the batch's instances.
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
  ): Promise<Map<string, InstanceState>> {
    const states = new Map<string, InstanceState>();
    if (keys.length === 0) return states;
    addStateRows(await this.selectStates(tx, keys), states);
    const missing = keys.filter((k) => !states.has(instanceKey(k)));
    if (missing.length > 0) {
      await this.db.execute(
        tx,
        `SELECT pg_advisory_xact_lock(hashtext('instance_state'), h)
         FROM (SELECT DISTINCT hashtext(r) AS h FROM unnest($1::text[]) AS r ORDER BY 1) AS x`,
        [missing.map((k) => k.resourceId)],
      );
      addStateRows(await this.selectStates(tx, missing), states);
    }
    return states;
  }

  private async selectStates(
    tx: LedgerTx,
    keys: readonly { resourceId: string; instanceId: string }[],
  ): Promise<InstanceState[]> {
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

  /** Stores the batch's instance states. */
  async saveStates(tx: LedgerTx, states: Iterable<InstanceState>): Promise<void> {
    const list = [...states];
    if (list.length === 0) return;
    await this.db.execute(
      tx,
      `INSERT INTO instance_state (resource_id, instance_id, tenant_id, resource_kind, started_at,
         last_observed_at, last_cpu_usage_ns, last_memory_usage_bytes, last_cpu_allocation_cores,
         last_memory_allocation_bytes, final, updated_at)
       SELECT r, i, t, k, to_timestamp(s::numeric / 1000), to_timestamp(o::numeric / 1000),
              c, m, ca, ma, f, now()
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                   $7::numeric[], $8::numeric[], $9::numeric[], $10::numeric[], $11::boolean[])
         AS x(r, i, t, k, s, o, c, m, ca, ma, f)
       ON CONFLICT (resource_id, instance_id) DO UPDATE SET
         tenant_id = EXCLUDED.tenant_id,
         last_observed_at = EXCLUDED.last_observed_at,
         last_cpu_usage_ns = EXCLUDED.last_cpu_usage_ns,
         last_memory_usage_bytes = EXCLUDED.last_memory_usage_bytes,
         last_cpu_allocation_cores = EXCLUDED.last_cpu_allocation_cores,
         last_memory_allocation_bytes = EXCLUDED.last_memory_allocation_bytes,
         final = EXCLUDED.final,
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
      ],
    );
  }

  /**
   * The rest of a batch in one statement: adds the quantities to the buckets (rows only grow, by
   * exact NUMERIC addition), inserts the batch's unpriced pieces, a row per tenant month (insert
   * only: no lock another batch or the stage waits for; rows grow with the batch's tenants, not
   * its instances and windows) and stores the partition's next offset (locked by lockOffset)
   * with the fingerprint of the message before it (offset continuity:
   * consuming/offset-continuity.guard.ts). The bucket rows are this partition's alone: their
   * charges are rows of their own (`usage_bucket_charge`) that only the pricing stage writes, so
   * no other instance's pass ever holds a row this waits for. Buckets are written in key order
   * (two batches of one resource after a repartition lock them in one order).
   * Returns the buckets' running totals after the addition, with the charges priced so far (read,
   * not locked; a charge committed between this read and this batch's commit reaches InfluxDB
   * again with the pass that prices this batch's pieces): what InfluxDB shows once this commits.
   * The piece rows' ids come back on the first row, and the rows go to `written` (WrittenPieces:
   * ids are never reused, so holding them before the commit is as good as after).
   */
  async writeBatch(
    tx: LedgerTx,
    batch: {
      buckets: Iterable<BucketUsage>;
      pieces: readonly UnpricedPiece[];
      offset: { groupId: string; topic: string; partition: number; nextOffset: string };
    },
  ): Promise<BucketTotals[]> {
    const list = sortedByBucketKey(batch.buckets);
    const { offset, pieces } = batch;
    const months = byTenantMonth(pieces);
    const rows = await this.db.rows(
      tx,
      writtenBucketRow,
      `WITH pieces AS (
         INSERT INTO rating_unpriced_usage (tenant_id, period, piece, piece_count)
         SELECT g -> 0 ->> 'tenantId', g -> 0 ->> 'period', g, jsonb_array_length(g)
         FROM jsonb_array_elements($13::jsonb) WITH ORDINALITY AS x(g, n) ORDER BY n
         RETURNING id, tenant_id, period
       ), stored AS (
         UPDATE consumer_offset SET next_offset = $17, last_fingerprint = $18, updated_at = now()
         WHERE group_id = $14 AND topic = $15 AND partition = $16
       ), written AS (
         INSERT INTO usage_bucket AS b (tenant_id, resource_id, bucket_start, resource_kind,
           cpu_usage_core_seconds, cpu_allocation_core_seconds, cpu_max_core_seconds,
           memory_usage_byte_seconds, memory_allocation_byte_seconds, memory_max_byte_seconds,
           observed_ms, gap_ms, inferred_gap_ms, samples_expected, samples_observed,
           samples_thinned, declared_ms, declared_gap_ms, updated_at)
         SELECT t, r, to_timestamp(s::numeric / 1000), k, c1, c2, c3, m1, m2, m3, o, g,
                ig, se, so, st, dm, dg, now()
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::numeric[],
                     $7::numeric[], $8::numeric[], $9::numeric[], $10::numeric[], $11::bigint[],
                     $12::bigint[], $19::bigint[], $20::bigint[], $21::bigint[],
                     $22::bigint[], $23::bigint[], $24::bigint[])
           WITH ORDINALITY AS x(t, r, s, k, c1, c2, c3, m1, m2, m3, o, g, ig, se, so, st, dm, dg, n)
         ORDER BY n
         ON CONFLICT (tenant_id, resource_id, bucket_start) DO UPDATE SET
           cpu_usage_core_seconds = b.cpu_usage_core_seconds + EXCLUDED.cpu_usage_core_seconds,
           cpu_allocation_core_seconds = b.cpu_allocation_core_seconds + EXCLUDED.cpu_allocation_core_seconds,
           cpu_max_core_seconds = b.cpu_max_core_seconds + EXCLUDED.cpu_max_core_seconds,
           memory_usage_byte_seconds = b.memory_usage_byte_seconds + EXCLUDED.memory_usage_byte_seconds,
           memory_allocation_byte_seconds = b.memory_allocation_byte_seconds + EXCLUDED.memory_allocation_byte_seconds,
           memory_max_byte_seconds = b.memory_max_byte_seconds + EXCLUDED.memory_max_byte_seconds,
           observed_ms = b.observed_ms + EXCLUDED.observed_ms,
           gap_ms = b.gap_ms + EXCLUDED.gap_ms,
           inferred_gap_ms = b.inferred_gap_ms + EXCLUDED.inferred_gap_ms,
           samples_expected = b.samples_expected + EXCLUDED.samples_expected,
           samples_observed = b.samples_observed + EXCLUDED.samples_observed,
           samples_thinned = b.samples_thinned + EXCLUDED.samples_thinned,
           declared_ms = b.declared_ms + EXCLUDED.declared_ms,
           declared_gap_ms = b.declared_gap_ms + EXCLUDED.declared_gap_ms,
           updated_at = now()
         RETURNING b.*
       )
         SELECT ${BUCKET_TOTALS_COLUMNS},
           CASE WHEN row_number() OVER () = 1 THEN (
             SELECT json_agg(json_build_array(id::text, tenant_id, period)) FROM pieces)
           END AS piece_rows
         FROM written LEFT JOIN usage_bucket_charge USING (tenant_id, resource_id, bucket_start)`,
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
        JSON.stringify(Array.from(months.values(), (month) => month.map(pieceToJson))),
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
    const totals = new Array<BucketTotals>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const { totals: bucket, pieceRows } = rows[i]!;
      totals[i] = bucket;
      if (pieceRows !== null && this.written !== null) this.hold(pieceRows, months);
    }
    return totals;
  }

  /** The inserted rows (one per tenant month of the batch) to `written`, with their pieces. */
  private hold(
    rows: readonly [string, string, string][],
    months: ReadonlyMap<string, UnpricedPiece[]>,
  ): void {
    for (const [id, tenantId, period] of rows) {
      const month = months.get(positionKey(tenantId, period));
      if (month !== undefined) this.written!.remember(id, { tenantId, period }, month);
    }
  }
}

/**
 * The pieces per tenant month (by positionKey), the months in the order of their first piece,
 * each month's pieces in rating order: the rows writeBatch inserts (one per month, priced in id
 * order).
 */
export function byTenantMonth(pieces: readonly UnpricedPiece[]): Map<string, UnpricedPiece[]> {
  const months = new Map<string, UnpricedPiece[]>();
  for (const p of pieces) {
    const key = positionKey(p.tenantId, p.period);
    const month = months.get(key);
    if (month === undefined) months.set(key, [p]);
    else month.push(p);
  }
  return months;
}

function addStateRows(rows: readonly InstanceState[], states: Map<string, InstanceState>): void {
  for (const state of rows) states.set(instanceKey(state), state);
}

/**
 * The buckets in the order they are written in, by the batch and the pricing stage: by bucketKey
 * (code-unit order), each key made once, not twice a comparison.
 */
export function sortedByBucketKey<
  T extends Pick<BucketUsage, 'tenantId' | 'resourceId' | 'bucketStartMs'>,
>(buckets: Iterable<T>): T[] {
  const keyed: { key: string; bucket: T }[] = [];
  for (const bucket of buckets) keyed.push({ key: bucketKey(bucket), bucket });
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.bucket);
}
