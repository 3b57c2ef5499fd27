import { type DataSource, type EntityManager } from 'typeorm';
import { type BucketUsage, type InstanceState, instanceKey } from '../domain';

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
  constructor(private readonly dataSource: DataSource) {}

  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction('READ COMMITTED', work);
  }

  /**
   * Locks the partition's offset row for the rest of the transaction and returns the stored
   * position. Two consumers that both think they own a partition (during a rebalance) serialize
   * here, and the second one sees what the first committed.
   */
  async lockOffset(
    tx: EntityManager,
    groupId: string,
    topic: string,
    partition: number,
  ): Promise<string | null> {
    await tx.query(
      `INSERT INTO consumer_offset (group_id, topic, partition, next_offset)
       VALUES ($1, $2, $3, -1) ON CONFLICT DO NOTHING`,
      [groupId, topic, partition],
    );
    const rows = await tx.query<{ next_offset: string }[]>(
      `SELECT next_offset::text FROM consumer_offset
       WHERE group_id = $1 AND topic = $2 AND partition = $3 FOR UPDATE`,
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

  async loadStates(
    tx: EntityManager,
    keys: readonly { resourceId: string; instanceId: string }[],
  ): Promise<Map<string, InstanceState>> {
    const out = new Map<string, InstanceState>();
    if (keys.length === 0) return out;
    const rows = await tx.query<StateRow[]>(
      `SELECT s.resource_id, s.instance_id, s.tenant_id, s.resource_kind,
              (extract(epoch from s.started_at) * 1000)::bigint::text AS started_ms,
              (extract(epoch from s.last_observed_at) * 1000)::bigint::text AS observed_ms,
              s.last_cpu_usage_ns::text, s.last_memory_usage_bytes::text,
              s.last_cpu_allocation_cores::text, s.last_memory_allocation_bytes::text, s.final
       FROM instance_state s
       JOIN unnest($1::text[], $2::text[]) AS k(resource_id, instance_id)
         ON s.resource_id = k.resource_id AND s.instance_id = k.instance_id`,
      [keys.map((k) => k.resourceId), keys.map((k) => k.instanceId)],
    );
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
      out.set(instanceKey(state), state);
    }
    return out;
  }

  async saveStates(tx: EntityManager, states: Iterable<InstanceState>): Promise<void> {
    const list = [...states];
    if (list.length === 0) return;
    await tx.query(
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
        list.map((s) => s.resourceId),
        list.map((s) => s.instanceId),
        list.map((s) => s.tenantId),
        list.map((s) => s.resourceKind),
        list.map((s) => String(s.startedAtMs)),
        list.map((s) => String(s.lastObservedAtMs)),
        list.map((s) => s.lastCpuUsageNs.toString()),
        list.map((s) => s.lastMemoryUsageBytes.toString()),
        list.map((s) => s.lastCpuAllocationCores),
        list.map((s) =>
          s.lastMemoryAllocationBytes === null ? null : s.lastMemoryAllocationBytes.toString(),
        ),
        list.map((s) => s.final),
      ],
    );
  }

  /** Adds usage to the buckets: rows only grow, by exact NUMERIC addition. */
  async addBuckets(tx: EntityManager, buckets: Iterable<BucketUsage>): Promise<void> {
    const list = [...buckets];
    if (list.length === 0) return;
    await tx.query(
      `INSERT INTO usage_bucket AS b (tenant_id, resource_id, bucket_start, resource_kind,
         cpu_usage_core_seconds, cpu_allocation_core_seconds, cpu_max_core_seconds,
         memory_usage_byte_seconds, memory_allocation_byte_seconds, memory_max_byte_seconds,
         observed_ms, gap_ms, updated_at)
       SELECT t, r, to_timestamp(s::numeric / 1000), k, c1, c2, c3, m1, m2, m3, o, g, now()
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::numeric[],
                   $7::numeric[], $8::numeric[], $9::numeric[], $10::numeric[], $11::bigint[], $12::bigint[])
         AS x(t, r, s, k, c1, c2, c3, m1, m2, m3, o, g)
       ON CONFLICT (tenant_id, resource_id, bucket_start) DO UPDATE SET
         cpu_usage_core_seconds = b.cpu_usage_core_seconds + EXCLUDED.cpu_usage_core_seconds,
         cpu_allocation_core_seconds = b.cpu_allocation_core_seconds + EXCLUDED.cpu_allocation_core_seconds,
         cpu_max_core_seconds = b.cpu_max_core_seconds + EXCLUDED.cpu_max_core_seconds,
         memory_usage_byte_seconds = b.memory_usage_byte_seconds + EXCLUDED.memory_usage_byte_seconds,
         memory_allocation_byte_seconds = b.memory_allocation_byte_seconds + EXCLUDED.memory_allocation_byte_seconds,
         memory_max_byte_seconds = b.memory_max_byte_seconds + EXCLUDED.memory_max_byte_seconds,
         observed_ms = b.observed_ms + EXCLUDED.observed_ms,
         gap_ms = b.gap_ms + EXCLUDED.gap_ms,
         updated_at = now()`,
      [
        list.map((b) => b.tenantId),
        list.map((b) => b.resourceId),
        list.map((b) => String(b.bucketStartMs)),
        list.map((b) => b.resourceKind),
        list.map((b) => b.cpuUsageCoreSeconds.toString()),
        list.map((b) => b.cpuAllocationCoreSeconds.toString()),
        list.map((b) => b.cpuMaxCoreSeconds.toString()),
        list.map((b) => b.memoryUsageByteSeconds.toString()),
        list.map((b) => b.memoryAllocationByteSeconds.toString()),
        list.map((b) => b.memoryMaxByteSeconds.toString()),
        list.map((b) => String(b.observedMs)),
        list.map((b) => String(b.gapMs)),
      ],
    );
  }

  /** Billing zones of registered tenants; unregistered ones are rated in the default zone. */
  async tenantZones(): Promise<Map<string, string>> {
    const rows = await this.dataSource.query<{ id: string; time_zone: string }[]>(
      `SELECT id, time_zone FROM tenant`,
    );
    return new Map(rows.map((r) => [r.id, r.time_zone]));
  }
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
}
