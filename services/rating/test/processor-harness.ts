import { type DataSource } from 'typeorm';
import { encode } from '@metering/contracts';
import { type ConsumedBatch } from '@metering/kafka';
import { createLedgerDataSource, migrateLedger } from '@metering/ledger';
import { localInfra } from '@metering/testing';
import {
  type BatchPhases,
  type DeadLetterSink,
  type ProcessorLedger,
  SampleBatchProcessor,
} from '../src/consuming/sample-batch.processor';
import { LedgerDb, type LedgerTx } from '../src/ledger/ledger-db';
import { OutboxStore } from '../src/ledger/outbox.store';
import { RatingLedger } from '../src/ledger/rating-ledger';
import { PricingStage } from '../src/pricing/pricing.stage';
import { TenantCatalog } from '../src/pricing/tenant-catalog';
import { type TenantAffinity } from '../src/pricing/tenant-affinity';
import { type PricedUsage } from '../src/domain';
import { encodeUsageEvent } from '../src/publishing/usage-event.encoder';
import { type StagedUsage, type UsageEventSink } from '../src/publishing/usage-event.outbox';
import { generateSamples } from './sample-stream';
import { ledgerPool } from './ledger-pool';

// SampleBatchProcessor on a real PostgreSQL ledger, without Kafka: the specs that hand it
// batches themselves, to interleave them exactly (overlapping batches, two processes' locks,
// reprice failures).

export const TOPIC = 'samples';
/** October 2026: every generated sample falls in one month. */
export const START = Date.UTC(2026, 9, 1, 6, 0, 0);

/** One partition's batch of generated samples for `tenants`, offsets from 0. */
export function batchOf(
  partition: number,
  seed: number,
  tenants: readonly string[],
  size: { resources: number; samplesPerResource: number },
): ConsumedBatch {
  const samples = generateSamples({ seed, tenants, ...size, startMs: START });
  const messages = samples.map((s, i) => ({
    topic: TOPIC,
    partition,
    offset: String(i),
    key: Buffer.from(s.resource.id),
    value: encode(s),
    headers: {},
    timestamp: String(START),
  }));
  return {
    topic: TOPIC,
    partition,
    messages,
    firstOffset: '0',
    lastOffset: String(messages.length - 1),
    nextOffset: String(messages.length),
    highWatermark: String(messages.length),
  };
}

/** Tiers every bound of which the generated months cross. */
const TIERED = {
  cpu: [
    { upTo: '0.2', unitPrice: '0.040' },
    { upTo: null, unitPrice: '0.031' },
  ],
  memory: [
    { upTo: '0.3', unitPrice: '0.0050' },
    { upTo: null, unitPrice: '0.0037' },
  ],
};

/**
 * A connection pool on ledger schema `schema`; with `create`, the schema is migrated and holds
 * plan 'tiered' (TIERED) assigned to each of `tenants` (UTC, EUR) from 2026-01-01.
 */
export async function tieredLedger(o: {
  schema: string;
  tenants: readonly string[];
  create: boolean;
  applicationName?: string;
}): Promise<DataSource> {
  const ds = createLedgerDataSource({
    url: localInfra.postgresUrl,
    schema: o.schema,
    poolSize: 4,
    ...(o.applicationName === undefined ? {} : { applicationName: o.applicationName }),
  });
  await ds.initialize();
  if (!o.create) return ds;
  await migrateLedger(ds);
  await ds.query(
    `INSERT INTO price_plan (id, version, currency, basis, cpu_tiers, memory_tiers)
     VALUES ('tiered', 1, 'EUR', 'usage', $1::jsonb, $2::jsonb)`,
    [JSON.stringify(TIERED.cpu), JSON.stringify(TIERED.memory)],
  );
  for (const t of o.tenants) {
    await ds.query(
      `INSERT INTO tenant (id, name, time_zone, currency) VALUES ($1, $1, 'UTC', 'EUR')`,
      [t],
    );
    await ds.query(
      `INSERT INTO plan_assignment (tenant_id, effective_from, plan_id, plan_version)
       VALUES ($1, '2026-01-01', 'tiered', 1)`,
      [t],
    );
  }
  return ds;
}

/** Plan 'cheap' v1 (graduated CPU, flat memory), unassigned: the reprice specs assign it. */
export async function insertCheapPlan(ds: DataSource): Promise<void> {
  await ds.query(
    `INSERT INTO price_plan (id, version, currency, basis, cpu_tiers, memory_tiers)
     VALUES ('cheap', 1, 'EUR', 'usage', $1::jsonb, $2::jsonb)`,
    [
      JSON.stringify([
        { upTo: '0.1', unitPrice: '0.020' },
        { upTo: null, unitPrice: '0.010' },
      ]),
      JSON.stringify([{ upTo: null, unitPrice: '0.0010' }]),
    ],
  );
}

/**
 * A processor as the rating process builds it (60 s usage windows, a 5 min gap limit), with the
 * DLQ and InfluxDB as no-ops; `ledger` replaces the repository (to make a step fail), and a
 * catalog TTL of 0 reads tenants and assignments again for every batch. Its pricing stage
 * (`stageOf`) prices every month with work after each process() (docs/adr/0014: the specs that
 * read amounts right after a batch wait for the stage), unless `drain` is false.
 */
export function processorOn(
  ds: DataSource,
  sink: UsageEventSink,
  o: {
    groupId: string;
    phases?: BatchPhases;
    ledger?: Partial<ProcessorLedger>;
    catalogTtlMs?: number;
    deadLetters?: DeadLetterSink;
    plausibility?: boolean;
    drain?: boolean;
    pricingPage?: number;
    /**
     * As the rating process wires it: each committed batch's months go to the stage's queue,
     * which keeps those of the tenants this affinity owns; `priced` hears each pass's month.
     */
    affinity?: TenantAffinity;
    priced?: (tenantId: string) => void;
    /** false: committed batches queue no pass (only the sweep prices). */
    passes?: boolean;
    /** The stage's orphanMs (default: five intervals). */
    orphanMs?: number;
    /** The stage's backlogDelayMs (default 0): months a batch left behind wait this long. */
    backlogDelayMs?: number;
  },
): SampleBatchProcessor {
  const stores = RatingLedger.on(ledgerPool(ds)).stores();
  const ledger: ProcessorLedger = {
    batches: o.ledger?.batches ?? stores.batches,
    reprices: o.ledger?.reprices ?? stores.reprices,
  };
  const catalog = new TenantCatalog(stores.catalog, {
    ttlMs: o.catalogTtlMs ?? 60_000,
    defaultTimeZone: 'UTC',
    defaultCurrency: 'EUR',
  });
  const stage = new PricingStage(
    stores.pricing,
    catalog,
    sink,
    {
      priced: ({ position }) => {
        if (position !== null) o.priced?.(position.tenantId);
      },
    },
    {
      windows: { windowMs: 60_000 },
      intervalMs: 1_000,
      idleMs: 120_000,
      ...(o.pricingPage === undefined ? {} : { pageSize: o.pricingPage }),
      ...(o.affinity === undefined ? {} : { affinity: o.affinity }),
      ...(o.orphanMs === undefined ? {} : { orphanMs: o.orphanMs }),
      ...(o.backlogDelayMs === undefined ? {} : { backlogDelayMs: o.backlogDelayMs }),
    },
  );
  const processor = new SampleBatchProcessor(
    ledger,
    catalog,
    o.deadLetters ?? { publishAll: () => Promise.resolve() },
    sink,
    {
      committed: (batch) =>
        o.affinity === undefined || o.passes === false
          ? undefined
          : stage.enqueue(batch.months, batch.behind === true),
    },
    {
      groupId: o.groupId,
      rules: {
        maxGapMs: 300_000,
        ...(o.plausibility === true
          ? {
              plausibility: {
                cpuSlackPermille: 1500n,
                cpuToleranceNs: 1_000_000_000n,
                maxCores: 1024,
                maxMemoryBytes: 1n << 46n,
              },
            }
          : {}),
      },
      maxFutureSkewMs: 300_000,
      windows: { windowMs: 60_000 },
      repricePageBuckets: 10_000,
    },
    Date.now,
    o.phases,
    undefined,
    stage,
  );
  stages.set(processor, stage);
  if (o.drain !== false) {
    const process = processor.process.bind(processor);
    processor.process = async (batch) => {
      const outcome = await process(batch);
      await stage.drain();
      return outcome;
    };
  }
  return processor;
}

const stages = new WeakMap<SampleBatchProcessor, PricingStage>();

/** The pricing stage of a processor processorOn built. */
export function stageOf(processor: SampleBatchProcessor): PricingStage {
  const stage = stages.get(processor);
  if (stage === undefined) throw new Error('not a processor of processorOn');
  return stage;
}

export interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Rejects instead of waiting forever: a spec that would hang fails with a reason. */
export function within<T>(promise: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A usage sink's staging into the real outbox, with a fixed ratedAt so that rows compare across
 * runs; publishing is left out (rows: none to publish after the commit).
 */
export async function stageIntoOutbox(
  tx: LedgerTx,
  closed: readonly PricedUsage[],
): Promise<StagedUsage> {
  await new OutboxStore(LedgerDb.of(tx)).addToOutbox(tx, {
    keys: closed.map((u) => u.tenantId),
    values: closed.map((u) => encodeUsageEvent(u, '"2026-11-01T00:00:00.000Z"')),
  });
  return { rows: [] };
}

/** A usage sink that stages into the real outbox (stageIntoOutbox) and publishes nothing. */
export class OutboxStaging implements UsageEventSink {
  ready(): Promise<void> {
    return Promise.resolve();
  }

  stage(tx: LedgerTx, closed: readonly PricedUsage[]): Promise<StagedUsage> {
    return stageIntoOutbox(tx, closed);
  }

  committed(): void {}
}

/** Waits until a backend of `applicationName` waits on a lock (rejects after `timeoutMs`). */
export async function waitingForLock(
  ds: DataSource,
  applicationName: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await ds.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE application_name = $1 AND wait_event_type = 'Lock'`,
      [applicationName],
    );
    if ((rows[0]?.n ?? 0) > 0) return;
    if (Date.now() > deadline) throw new Error(`${applicationName} never waited for a lock`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
