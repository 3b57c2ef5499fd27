import { type ConsumedBatch, type ConsumedMessage, type Rejection } from '@metering/kafka';
import {
  type MeteredSample,
  type MonthPosition,
  type RatedInterval,
  type RatingRules,
  checkSampleRules,
  instanceKey,
  planBatch,
  priceBatch,
  rateBatch,
} from '../domain';
import { type BucketTotals, type LedgerRepository } from '../ledger/ledger.repository';
import { type TenantCatalog } from '../pricing/tenant-catalog';
import { type UsageEventSink } from '../publishing/usage-event.publisher';
import { decodeSampleFast } from './sample.decoder';
import { toMeteredSample } from './sample.mapper';

export interface SampleBatchProcessorOptions {
  readonly groupId: string;
  readonly rules: RatingRules;
  readonly maxFutureSkewMs: number;
}

export interface BatchOutcome {
  /** Messages at or after the stored position (the rest were already in the ledger). */
  readonly applied: number;
  readonly skipped: number;
  readonly rated: number;
  readonly duplicates: number;
  readonly outOfOrder: number;
  readonly deadLettered: number;
  readonly bucketsWritten: number;
  readonly usageEvents: number;
}

/** What a committed batch changed: the input of the InfluxDB sink. */
export interface CommittedBatch {
  /** Running totals of the touched buckets, as committed. */
  readonly buckets: readonly BucketTotals[];
  /** The moved month positions, as committed. */
  readonly positions: readonly MonthPosition[];
  /** The batch's rated samples (raw gauges). */
  readonly rated: readonly RatedInterval[];
}

export interface DeadLetterSink {
  publishAll(rejections: readonly Rejection[]): Promise<void>;
}

export interface CommittedBatchSink {
  /** Called after the commit; must not throw nor block (it only queues). */
  committed(batch: CommittedBatch): void;
}

const NOTHING: Omit<BatchOutcome, 'skipped'> = {
  applied: 0,
  rated: 0,
  duplicates: 0,
  outOfOrder: 0,
  deadLettered: 0,
  bucketsWritten: 0,
  usageEvents: 0,
};

/**
 * Rates and prices one partition's batch with an exactly-once effect: usage buckets with their
 * charges, the tenants' month positions, instance states and the partition's next offset commit
 * in ONE PostgreSQL transaction, under a lock on the offset row (then on the month positions, in
 * a fixed order). Messages below the stored offset are already in the ledger and are skipped, so
 * a replay, a redelivery after a crash, or a zombie member during a rebalance changes nothing.
 *
 * Invalid messages go to the dead-letter topic and the usage events to `billing.usage.v1`, both
 * acknowledged before the commit: a batch that then fails publishes them again (same usage ids).
 * Any error rolls everything back and is rethrown: the batch is retried, never skipped. After the
 * commit, the touched buckets' totals go to the InfluxDB sink, which never blocks the ledger.
 */
export class SampleBatchProcessor {
  constructor(
    private readonly ledger: LedgerRepository,
    private readonly catalog: TenantCatalog,
    private readonly deadLetters: DeadLetterSink,
    private readonly usageEvents: UsageEventSink,
    private readonly committedSink: CommittedBatchSink,
    private readonly options: SampleBatchProcessorOptions,
    private readonly clock: () => number = Date.now,
  ) {}

  async process(batch: ConsumedBatch): Promise<BatchOutcome> {
    await this.catalog.refresh();
    let committed: CommittedBatch | null = null;
    const outcome = await this.ledger.transaction(async (tx): Promise<BatchOutcome> => {
      const stored = await this.ledger.lockOffset(
        tx,
        this.options.groupId,
        batch.topic,
        batch.partition,
      );
      const from = stored === null ? null : BigInt(stored);
      const fresh = batch.messages.filter((m) => from === null || BigInt(m.offset) >= from);
      const skipped = batch.messages.length - fresh.length;
      if (fresh.length === 0) return { ...NOTHING, skipped };

      const { samples, rejections } = this.decode(fresh);
      const known = await this.ledger.loadStates(
        tx,
        uniqueBy(samples, instanceKey).map((s) => ({
          resourceId: s.resourceId,
          instanceId: s.instanceId,
        })),
      );
      const rating = rateBatch(samples, known, this.options.rules, (tenant) =>
        this.catalog.zoneOf(tenant),
      );
      const planned = planBatch(rating.rated, this.catalog.pricing);
      const positions = await this.ledger.lockPositions(tx, planned.positionKeys);
      const priced = priceBatch(planned, positions, this.catalog.pricing);

      // Kafka acknowledges while PostgreSQL writes; both finish before the offset moves.
      const published = Promise.all([
        this.deadLetters.publishAll(rejections),
        this.usageEvents.publish(priced.usages),
      ]);
      const written = (async () => {
        const totals = await this.ledger.addBuckets(
          tx,
          rating.buckets.values(),
          priced.bucketAmounts,
        );
        await this.ledger.saveStates(tx, rating.states.values());
        await this.ledger.savePositions(tx, priced.positions.values());
        return totals;
      })();
      // Both settle before anything else happens on the transaction: a rollback must never
      // race a statement still running on its connection.
      const [totals] = await allSettledOrThrow(written, published);
      await this.ledger.storeOffset(
        tx,
        this.options.groupId,
        batch.topic,
        batch.partition,
        batch.nextOffset,
      );
      committed = {
        buckets: totals,
        positions: [...priced.positions.values()],
        rated: rating.rated,
      };
      return {
        applied: fresh.length,
        skipped,
        rated: rating.intervals.length,
        duplicates: rating.duplicates,
        outOfOrder: rating.outOfOrder,
        deadLettered: rejections.length,
        bucketsWritten: rating.buckets.size,
        usageEvents: priced.usages.length,
      };
    });
    // Only now is it in the ledger: what InfluxDB shows never runs ahead of it.
    if (committed !== null) this.committedSink.committed(committed);
    return outcome;
  }

  private decode(messages: readonly ConsumedMessage[]): {
    samples: MeteredSample[];
    rejections: Rejection[];
  } {
    const samples: MeteredSample[] = [];
    const rejections: Rejection[] = [];
    const now = this.clock();
    for (const message of messages) {
      const decoded = decodeSampleFast(message.value);
      if (!decoded.ok) {
        rejections.push({
          message,
          reason: {
            reasonCode: decoded.reason.code,
            message: decoded.reason.message,
            ...(decoded.reason.path === null ? {} : { path: decoded.reason.path }),
          },
        });
        continue;
      }
      const sample = toMeteredSample(decoded.value);
      const violation = checkSampleRules(sample, now, this.options.maxFutureSkewMs);
      if (violation !== null) {
        rejections.push({
          message,
          reason: { reasonCode: violation.code, message: violation.message, path: violation.path },
        });
        continue;
      }
      samples.push(sample);
    }
    return { samples, rejections };
  }
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

function uniqueBy<T>(items: readonly T[], key: (t: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item);
  return [...seen.values()];
}
