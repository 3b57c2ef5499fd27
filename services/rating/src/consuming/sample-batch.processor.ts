/* eslint-disable max-lines -- Long because: one batch's whole path (isolation, transaction,
 * pieces, reprice) is kept together; the per-message parts are in batch-messages.ts. */
import { setTimeout as sleep } from 'node:timers/promises';
import { type HostKeyLookup } from '@metering/contracts';
import { type ConsumedBatch, type ConsumedMessage, type Rejection } from '@metering/kafka';
import {
  type MonthPosition,
  type RatingRules,
  type UsageWindowRules,
  type BatchSightings,
  type KnownResource,
  type InstanceState,
  type ResourceGauge,
  type UnpricedPiece,
  type MeteredSample,
  type SampleFold,
  afterBatch,
  foldSamples,
  repriceMonth,
  uniqueInstances,
} from '../domain';
import { periodBounds, periodOf } from '@metering/pricing';
import { type BatchLedger } from '../ledger/batch-ledger.store';
import { type LedgerTx } from '../ledger/ledger-db';
import { type BucketCursor, type BucketTotals } from '../ledger/ledger-rows';
import { type MonthKey } from '../ledger/pricing.store';
import { type RepriceStore } from '../ledger/reprice.store';
import { type AssignmentChange, type TenantCatalog } from '../pricing/tenant-catalog';
import { type UsageEventSink } from '../publishing/usage-event.outbox';
import { isInfrastructureError } from './batch-error.classifier';
import {
  type BatchClockRules,
  type Refusals,
  UnnamedInstance,
  byOffset,
  decodeBatch,
  decodeEach,
  instancesNamed,
  sliceBatch,
} from './batch-messages';
import { InstanceNamer } from './sample-instance';

/** A batch's fold, with the messages decoding refused. */
type BatchFoldOutcome = SampleFold & {
  readonly rejections: Rejection[];
  readonly unrateable: number;
};

/** The ledger's stores the processor writes through: the batch's and the reprice's. */
export interface ProcessorLedger {
  readonly batches: BatchLedger;
  readonly reprices: RepriceStore;
}

/** The pricing stage as the reprice uses it: drains a month whose lease it holds. */
export interface MonthDrainer {
  drainLeased(tx: LedgerTx, key: MonthKey): Promise<() => void>;
}

export interface SampleBatchProcessorOptions {
  readonly groupId: string;
  readonly rules: RatingRules;
  readonly maxFutureSkewMs: number;
  /** Samples observed longer ago than this are dead-lettered (SAMPLE_TOO_OLD). */
  readonly maxSampleAgeMs?: number;
  /** Per-host sample keys (ADR 0010); absent: samples are not checked (HOST_AUTH=off). */
  readonly hostKeys?: HostKeyLookup;
  readonly windows: UsageWindowRules;
  /** Buckets read, priced and written at a time when a month is priced again (memory bound). */
  readonly repricePageBuckets: number;
  /**
   * How far a resource's last seen may lag in the resource dimension before a sample refreshes it
   * (domain/resource-dimension.ts); default 5 minutes.
   */
  readonly resourceLastSeenStepMs?: number;
}

/** Resources remembered by the dimension cache before it starts over (memory bound). */
const MAX_KNOWN_RESOURCES = 200_000;
const DEFAULT_LAST_SEEN_STEP_MS = 5 * 60_000;

export interface BatchOutcome {
  /** Messages at or after the stored position (the rest were already in the ledger). */
  readonly applied: number;
  readonly skipped: number;
  readonly rated: number;
  readonly duplicates: number;
  readonly outOfOrder: number;
  readonly deadLettered: number;
  readonly bucketsWritten: number;
  /** Intervals longer than the rules allow: only their last part was rated. */
  readonly clipped: number;
  /** CPU of the parts not rated, core-seconds (ns / 10^9, a float for the metric). */
  readonly clippedCoreSeconds: number;
  /** Tenant months priced again before this batch, their plan assignments having changed. */
  readonly repricedMonths: number;
  /** Unpriced pieces written for the pricing stage (docs/adr/0014-rating-scale-out.md). */
  readonly pieces: number;
  /** Messages dead-lettered as UNRATEABLE: the batch failed with them and without them it did not. */
  readonly unrateable: number;
}

/** What a committed batch changed: the input of the InfluxDB sink. */
export interface CommittedBatch {
  /** Running totals of the touched buckets, as committed (charges: as priced so far). */
  readonly buckets: readonly BucketTotals[];
  /** Moved month positions, as committed (the pricing stage's; a batch moves none). */
  readonly positions: readonly MonthPosition[];
  /** The raw gauges of the batch's resources (domain/resource-gauge.ts). */
  readonly gauges: readonly ResourceGauge[];
  /** The tenant months the batch left unpriced pieces in: the pricing stage's next passes. */
  readonly months: readonly MonthKey[];
  /** The batch left its partition behind the broker (a backlog); absent: caught up. */
  readonly behind?: boolean;
}

export interface DeadLetterSink {
  publishAll(rejections: readonly Rejection[]): Promise<void>;
}

/** Times the phases of a batch (the runner's histogram; a no-op in specs). */
export interface BatchPhases {
  start(phase: 'prepare' | 'write' | 'commit'): () => void;
}

const NO_PHASES: BatchPhases = { start: () => () => undefined };

/** Told when a failing batch is split to find the message responsible (the runner logs it). */
export interface IsolationObserver {
  splitting(batch: ConsumedBatch, error: unknown): void;
  unrateable(message: ConsumedMessage, error: unknown): void;
}

const SILENT: IsolationObserver = { splitting: () => undefined, unrateable: () => undefined };

/** Attempts of a single failing message before it is dead-lettered, and the pause between. */
const SINGLE_MESSAGE_ATTEMPTS = 3;
const SINGLE_MESSAGE_RETRY_MS = 200;

export interface CommittedBatchSink {
  /** Called after the commit; must not throw nor block (it only queues). */
  committed(batch: CommittedBatch): void;
}

const NOTHING: Omit<BatchOutcome, 'skipped' | 'repricedMonths'> = {
  applied: 0,
  rated: 0,
  duplicates: 0,
  outOfOrder: 0,
  deadLettered: 0,
  bucketsWritten: 0,
  clipped: 0,
  clippedCoreSeconds: 0,
  pieces: 0,
  unrateable: 0,
};

/**
 * Rates one partition's batch with an exactly-once effect: usage buckets' quantities, instance
 * states, the resource dimension, the batch's unpriced pieces and the partition's next offset
 * commit in ONE PostgreSQL transaction, under a lock on the offset row. Every row it locks is
 * keyed by the partition or the batch's resources: no tenant-wide row, so batches of other
 * instances never wait for it (docs/adr/0014-rating-scale-out.md). Messages below the stored
 * offset are already in the ledger and are skipped, so a replay, a redelivery after a crash, or a
 * zombie member during a rebalance changes nothing.
 *
 * Charges, month positions and usage windows are the pricing stage's (pricing/pricing.stage.ts):
 * it prices the pieces per tenant month after the commit (the committed batch names the months).
 * Invalid messages go to the dead-letter topic, acknowledged before the commit. Any error rolls
 * everything back and is rethrown: the batch is retried, never skipped. After the commit, the
 * touched buckets' totals go to the InfluxDB sink, which never blocks the ledger.
 */
export class SampleBatchProcessor {
  /**
   * What the resource dimension holds for the resources this process rated (as committed), so a
   * batch upserts only the new or changed ones. Another process's writes may make it stale; the
   * upsert's rules (latest observation wins) keep the table right, and the periodic last-seen
   * refresh carries the description again.
   */
  private readonly knownResources = new Map<string, KnownResource>();
  /** Where each resource's messages name their instance, for the streaming fold's pre-scan. */
  private readonly namer = new InstanceNamer();
  private readonly ledger: BatchLedger;
  private readonly reprices: RepriceStore;

  constructor(
    ledger: ProcessorLedger,
    private readonly catalog: TenantCatalog,
    private readonly deadLetters: DeadLetterSink,
    private readonly usageEvents: UsageEventSink,
    private readonly committedSink: CommittedBatchSink,
    private readonly options: SampleBatchProcessorOptions,
    private readonly clock: () => number = Date.now,
    private readonly phases: BatchPhases = NO_PHASES,
    private readonly isolation: IsolationObserver = SILENT,
    private readonly pricing: MonthDrainer | null = null,
  ) {
    this.ledger = ledger.batches;
    this.reprices = ledger.reprices;
  }

  /**
   * Rates the batch. Every message is rated or dead-lettered and the partition always moves: a
   * failure that is not the infrastructure's (batch-error.classifier.ts) may be one message's
   * doing, so the batch is split in halves, each rated in its own transaction (storing its own
   * next offset), down to the one message that keeps failing on its own; that one is dead-lettered
   * as UNRATEABLE with the error, and the rest is rated as if it had never been there. A failure
   * that remains with the message dead-lettered is not the message's: it is thrown. Infrastructure
   * errors are thrown at once: the batch is retried from the stored offset, never skipped.
   */
  async process(batch: ConsumedBatch): Promise<BatchOutcome> {
    // Nothing before the transactions depends on the batch's content.
    await this.catalog.refresh();
    const repricedMonths = await this.repriceChanges();
    const outcome = await this.isolating(batch, new Map());
    return { ...outcome, repricedMonths };
  }

  private async isolating(
    batch: ConsumedBatch,
    poisoned: Map<string, unknown>,
  ): Promise<BatchOutcome> {
    try {
      return await this.rateOnce(batch, poisoned);
    } catch (error) {
      if (isInfrastructureError(error)) throw error;
      const count = batch.messages.length;
      if (count > 1) {
        this.isolation.splitting(batch, error);
        const half = Math.ceil(count / 2);
        const first = await this.isolating(sliceBatch(batch, 0, half), poisoned);
        const second = await this.isolating(sliceBatch(batch, half, count), poisoned);
        return addOutcomes(first, second);
      }
      // One message: tried again a few times, in case the failure was not its after all.
      let last = error;
      for (let attempt = 1; attempt < SINGLE_MESSAGE_ATTEMPTS; attempt++) {
        await sleep(SINGLE_MESSAGE_RETRY_MS * attempt);
        try {
          return await this.rateOnce(batch, poisoned);
        } catch (again) {
          if (isInfrastructureError(again)) throw again;
          last = again;
        }
      }
      const message = batch.messages[0]!;
      this.isolation.unrateable(message, last);
      poisoned.set(message.offset, last);
      return await this.rateOnce(batch, poisoned);
    }
  }

  /**
   * Rates the batch in one transaction. Its samples are folded as they are decoded, against the
   * states of the instances its messages name (foldStreaming); a sample of an instance they did
   * not name rolls that back, and the batch is rated again the exact way (`exact`: decoded whole,
   * then the states of what it decoded loaded, then folded).
   */
  private async rateOnce(
    batch: ConsumedBatch,
    poisoned: ReadonlyMap<string, unknown>,
    exact = false,
  ): Promise<BatchOutcome> {
    try {
      return await this.rateOnceAs(batch, poisoned, exact);
    } catch (error) {
      if (exact || !(error instanceof UnnamedInstance)) throw error;
      return await this.rateOnceAs(batch, poisoned, true);
    }
  }

  private async rateOnceAs(
    batch: ConsumedBatch,
    poisoned: ReadonlyMap<string, unknown>,
    exact: boolean,
  ): Promise<BatchOutcome> {
    // Before the transaction: waiting for Kafka must not hold any row lock.
    await this.usageEvents.ready();
    const phases = this.phases;
    let committed: CommittedBatch | null = null;
    let sighted: BatchSightings | null = null;
    let endCommit = (): void => undefined;
    const outcome = await this.ledger.transaction(async (tx): Promise<BatchOutcome> => {
      let phase = phases.start('prepare');
      const stored = await this.ledger.lockOffset(
        tx,
        this.options.groupId,
        batch.topic,
        batch.partition,
      );
      const from = stored === null ? null : BigInt(stored);
      // Nearly always the whole batch: one comparison, no copy (a batch is in offset order).
      const fresh =
        from === null || BigInt(batch.firstOffset) >= from
          ? batch.messages
          : batch.messages.filter((m) => BigInt(m.offset) >= from);
      const skipped = batch.messages.length - fresh.length;
      if (fresh.length === 0) {
        phase();
        return { ...NOTHING, skipped, repricedMonths: 0 };
      }

      const clock = this.clockRules();
      const { rating, pieces, gauges, sightings, rejections, unrateable } = exact
        ? await this.foldExact(tx, fresh, poisoned, clock, null)
        : await this.foldStreaming(tx, fresh, poisoned, clock);
      phase();

      // Kafka acknowledges the DLQ while PostgreSQL writes; both finish before the commit. The
      // transaction's statements go one after the other: its connection runs one at a time
      // anyway, and pg refuses a query issued while another runs from version 9 on.
      phase = phases.start('write');
      const published = this.deadLetters.publishAll(rejections);
      const written = (async () => {
        // The states (the rows the batch locked in loadStates).
        await this.ledger.saveStates(tx, rating.states.values());
        await this.ledger.upsertResources(tx, sightings.rows);
        sighted = sightings;
        return this.ledger.writeBatch(tx, {
          buckets: rating.buckets.values(),
          pieces,
          offset: {
            groupId: this.options.groupId,
            topic: batch.topic,
            partition: batch.partition,
            nextOffset: batch.nextOffset,
          },
        });
      })();
      // Both settle before anything else happens on the transaction: a rollback must never
      // race a statement still running on its connection.
      const [totals] = await allSettledOrThrow(written, published);
      phase();
      committed = {
        buckets: totals,
        positions: [],
        gauges,
        months: monthsOf(pieces),
        behind: BigInt(batch.highWatermark) > BigInt(batch.nextOffset),
      };
      endCommit = phases.start('commit');
      return {
        applied: fresh.length,
        skipped,
        rated: rating.ratedCount,
        duplicates: rating.duplicates,
        outOfOrder: rating.outOfOrder,
        deadLettered: rejections.length,
        bucketsWritten: rating.buckets.size,
        clipped: rating.clipped,
        clippedCoreSeconds: Number(rating.clippedCpuNs) / 1e9,
        repricedMonths: 0,
        pieces: pieces.length,
        unrateable,
      };
    });
    endCommit();
    if (sighted !== null) this.rememberResources(sighted);
    // Only now is it in the ledger: what InfluxDB shows never runs ahead of it.
    if (committed !== null) this.committedSink.committed(committed);
    return outcome;
  }

  /**
   * The batch's fold with no decoded sample alive past its turn (a batch's samples outlived
   * several scavenges when decoded whole, and were promoted and marked: docs/adr/0014): the
   * instances the messages name are read from their bytes (instancesNamed) and their states loaded
   * first, then each message is decoded and folded in turn. A sample of an instance not named
   * throws UnnamedInstance (its state was not loaded: the batch is rated again the exact way). A
   * sample rating refuses needs its message beside it: then the batch is folded again the exact
   * way, in this transaction (every instance it decodes was named, so its states are loaded).
   */
  private async foldStreaming(
    tx: LedgerTx,
    fresh: readonly ConsumedMessage[],
    poisoned: ReadonlyMap<string, unknown>,
    clock: BatchClockRules,
  ): Promise<BatchFoldOutcome> {
    const named = instancesNamed(fresh, poisoned, this.namer);
    const keys: { resourceId: string; instanceId: string }[] = [];
    for (const [resourceId, instances] of named)
      for (const instanceId of instances) keys.push({ resourceId, instanceId });
    const loaded = await this.ledger.loadStates(tx, keys);
    const refused: Refusals = { rejections: [], unrateable: 0 };
    const folded = this.foldOf(decodeEach(fresh, poisoned, clock, refused, named), loaded);
    // The same clock: the exact fold decodes the same samples, all of them named, so loaded.
    if (folded.rating.rejected.length > 0)
      return this.foldExact(tx, fresh, poisoned, clock, loaded);
    return { ...folded, ...refused };
  }

  /**
   * The batch decoded whole, its instances' states loaded (unless `loaded` has them all already),
   * then folded; the samples rating refuses dead-lettered with their messages, in the partition's
   * order.
   */
  private async foldExact(
    tx: LedgerTx,
    fresh: readonly ConsumedMessage[],
    poisoned: ReadonlyMap<string, unknown>,
    clock: BatchClockRules,
    loaded: ReadonlyMap<string, InstanceState> | null,
  ): Promise<BatchFoldOutcome> {
    const { samples, rejections, messages, unrateable } = decodeBatch(fresh, poisoned, clock);
    const states = loaded ?? (await this.ledger.loadStates(tx, uniqueInstances(samples)));
    const folded = this.foldOf(samples, states);
    if (folded.rating.rejected.length > 0) {
      // Rare: the sample-to-message map is built only when a sample was refused.
      const messageOf = new Map(samples.map((s, i) => [s, messages[i]!]));
      for (const { sample, implausible } of folded.rating.rejected) {
        rejections.push({
          message: messageOf.get(sample)!,
          reason: {
            reasonCode: implausible.code,
            message: implausible.message,
            path: implausible.path,
          },
        });
      }
      // Dead letters in the partition's order, as they were consumed.
      rejections.sort(byOffset);
    }
    return { ...folded, rejections, unrateable };
  }

  private foldOf(
    samples: Iterable<MeteredSample>,
    loaded: ReadonlyMap<string, InstanceState>,
  ): SampleFold {
    return foldSamples(
      samples,
      loaded,
      {
        rules: this.options.rules,
        windows: this.options.windows,
        lastSeenStepMs: this.options.resourceLastSeenStepMs ?? DEFAULT_LAST_SEEN_STEP_MS,
      },
      this.catalog,
      (key) => this.knownResources.get(key),
    );
  }

  private clockRules(): BatchClockRules {
    return {
      nowMs: this.clock(),
      maxFutureSkewMs: this.options.maxFutureSkewMs,
      maxSampleAgeMs: this.options.maxSampleAgeMs,
      hostKeys: this.options.hostKeys,
    };
  }

  /** The committed dimension rows, as the ledger now holds them. */
  private rememberResources({ rows, seen }: BatchSightings): void {
    if (this.knownResources.size + rows.length > MAX_KNOWN_RESOURCES) this.knownResources.clear();
    for (const [key, sight] of seen) {
      const next = afterBatch(this.knownResources.get(key), sight);
      if (next !== undefined) this.knownResources.set(key, next);
    }
  }

  /** Reprices the tenants whose assignments changed; those not done when it fails are kept. */
  private async repriceChanges(): Promise<number> {
    const pending = this.catalog.takeChanges();
    if (pending.size === 0) return 0;
    try {
      return await this.reprice(pending);
    } catch (error) {
      this.catalog.returnChanges(pending);
      throw error;
    }
  }

  /**
   * Prices again the months of tenants whose plan assignments changed (a plan assigned with an
   * effective date in the past), from the first month with usage since the earliest change to the last rated one:
   * bucket charges and month positions as the invoice prices them (domain/reprice-month.ts), one
   * month per transaction under the month's lease, waited for (the reprice is not the hot path):
   * the month's unpriced pieces are priced first (the pricing stage's pass, in this transaction),
   * then the whole month again from its quantities. Usage events already published keep the
   * amounts they were published with.
   */
  private async reprice(changes: Map<string, AssignmentChange>): Promise<number> {
    let months = 0;
    for (const [tenantId, { fromMs, assignments }] of changes) {
      const zone = this.catalog.zoneOf(tenantId);
      const span = await this.reprices.tenantBucketSpan(
        tenantId,
        periodBounds(periodOf(fromMs, zone), zone).startMs,
      );
      // From the month of the tenant's first bucket since the change's month: a month before it
      // has no bucket, hence no piece nor charge to price again (buckets are never deleted), and
      // repricing it would only create and drop its position row. A first start over assignments
      // effective long before any usage (every tenant "changed" against no priced assignment)
      // would otherwise run one transaction per tenant and month since then, in a batch.
      let period = span === null ? null : periodOf(span.firstMs, zone);
      const last = span === null ? null : periodOf(span.lastMs, zone);
      while (period !== null && last !== null) {
        const current = period;
        const bounds = periodBounds(current, zone);
        const range = { fromMs: bounds.startMs, toMs: bounds.endMs };
        const { position, drained } = await this.reprices.transaction(async (tx) => {
          // One snapshot (REPEATABLE READ, run again on a serialization failure): the pieces
          // drained and the quantities read are of the same batches; a batch committed later
          // leaves its pieces to the stage, priced on top of this month's charges.
          // Waits for a pricing pass of this month to commit; passes then skip it until this commits.
          await this.reprices.lockPosition(tx, tenantId, current);
          const drained =
            this.pricing === null
              ? (): void => undefined
              : await this.pricing.drainLeased(tx, { tenantId, period: current });
          // Page by page in time order, each continuing from the position before.
          let priced: MonthPosition | null = null;
          let after: BucketCursor | null = null;
          for (;;) {
            const page = await this.reprices.loadTenantBucketsPage(
              tx,
              tenantId,
              range,
              after,
              this.options.repricePageBuckets,
            );
            if (page.length === 0) break;
            const month = repriceMonth(page, tenantId, current, zone, this.catalog.pricing, priced);
            await this.reprices.storeRepricedBuckets(tx, tenantId, month.amounts, page);
            priced = month.position;
            const lastBucket = page.at(-1)!;
            after = { startMs: lastBucket.bucketStartMs, resourceId: lastBucket.resourceId };
          }
          await this.reprices.storeRepricedPosition(tx, tenantId, current, priced);
          return { position: priced, drained };
        });
        drained();
        months += 1;
        await this.showRepriced(tenantId, range, position);
        if (current === last) break;
        period = periodOf(bounds.endMs, zone);
      }
      // Only now: a crash before this prices the months again at the next start.
      await this.reprices.storePricedAssignments(tenantId, assignments);
      changes.delete(tenantId);
    }
    return months;
  }

  /** A repriced month's new charges to InfluxDB, page by page (after the commit). */
  private async showRepriced(
    tenantId: string,
    range: { fromMs: number; toMs: number },
    position: MonthPosition | null,
  ): Promise<void> {
    let after: BucketCursor | null = null;
    for (;;) {
      const page = await this.reprices.tenantBucketTotalsPage(
        tenantId,
        range,
        after,
        this.options.repricePageBuckets,
      );
      if (page.length === 0) break;
      this.committedSink.committed({ buckets: page, positions: [], gauges: [], months: [] });
      const lastBucket = page.at(-1)!;
      after = { startMs: lastBucket.bucketStartMs, resourceId: lastBucket.resourceId };
    }
    if (position !== null)
      this.committedSink.committed({ buckets: [], positions: [position], gauges: [], months: [] });
  }
}

function addOutcomes(a: BatchOutcome, b: BatchOutcome): BatchOutcome {
  return {
    applied: a.applied + b.applied,
    skipped: a.skipped + b.skipped,
    rated: a.rated + b.rated,
    duplicates: a.duplicates + b.duplicates,
    outOfOrder: a.outOfOrder + b.outOfOrder,
    deadLettered: a.deadLettered + b.deadLettered,
    bucketsWritten: a.bucketsWritten + b.bucketsWritten,
    clipped: a.clipped + b.clipped,
    clippedCoreSeconds: a.clippedCoreSeconds + b.clippedCoreSeconds,
    repricedMonths: a.repricedMonths + b.repricedMonths,
    pieces: a.pieces + b.pieces,
    unrateable: a.unrateable + b.unrateable,
  };
}

async function allSettledOrThrow<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw asError(ra.reason);
  if (rb.status === 'rejected') throw asError(rb.reason);
  return [ra.value, rb.value];
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

/** The tenant months of the pieces, each once. */
function monthsOf(pieces: readonly UnpricedPiece[]): MonthKey[] {
  const months = new Map<string, MonthKey>();
  for (const p of pieces) {
    const k = `${p.tenantId}\u0000${p.period}`;
    if (!months.has(k)) months.set(k, { tenantId: p.tenantId, period: p.period });
  }
  return [...months.values()];
}
