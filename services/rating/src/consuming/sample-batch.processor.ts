import { decodeSample } from '@metering/contracts';
import { type ConsumedBatch, type ConsumedMessage, type Rejection } from '@metering/kafka';
import {
  type MeteredSample,
  type RatingRules,
  checkSampleRules,
  instanceKey,
  rateBatch,
} from '../domain';
import { type LedgerRepository } from '../ledger/ledger.repository';
import { toMeteredSample } from './sample.mapper';

export interface SampleBatchProcessorOptions {
  readonly groupId: string;
  readonly rules: RatingRules;
  readonly maxFutureSkewMs: number;
  readonly defaultTimeZone: string;
  /** How long a tenant's billing zone may be cached. */
  readonly tenantZoneTtlMs: number;
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
}

export interface DeadLetterSink {
  publishAll(rejections: readonly Rejection[]): Promise<void>;
}

/**
 * Rates one partition's batch with an exactly-once effect: ledger rows, instance states and the
 * partition's next offset commit in ONE PostgreSQL transaction, under a lock on the offset row.
 * Messages below the stored offset are already in the ledger and are skipped, so a replay, a
 * redelivery after a crash, or a zombie member during a rebalance changes nothing.
 * Invalid messages go to the dead-letter topic (acknowledged before the commit) and the batch
 * goes on. Any error rolls everything back and is rethrown: the batch is retried, never skipped.
 */
export class SampleBatchProcessor {
  private zones = new Map<string, string>();
  private zonesLoadedAt = -Infinity;

  constructor(
    private readonly ledger: LedgerRepository,
    private readonly deadLetters: DeadLetterSink,
    private readonly options: SampleBatchProcessorOptions,
    private readonly clock: () => number = Date.now,
  ) {}

  async process(batch: ConsumedBatch): Promise<BatchOutcome> {
    await this.refreshZones();
    return this.ledger.transaction(async (tx) => {
      const stored = await this.ledger.lockOffset(
        tx,
        this.options.groupId,
        batch.topic,
        batch.partition,
      );
      const from = stored === null ? null : BigInt(stored);
      const fresh = batch.messages.filter((m) => from === null || BigInt(m.offset) >= from);
      const skipped = batch.messages.length - fresh.length;
      if (fresh.length === 0) {
        return {
          applied: 0,
          skipped,
          rated: 0,
          duplicates: 0,
          outOfOrder: 0,
          deadLettered: 0,
          bucketsWritten: 0,
        };
      }

      const { samples, rejections } = this.decode(fresh);
      const known = await this.ledger.loadStates(
        tx,
        uniqueBy(samples, instanceKey).map((s) => ({
          resourceId: s.resourceId,
          instanceId: s.instanceId,
        })),
      );
      const result = rateBatch(samples, known, this.options.rules, (tenant) => this.zoneOf(tenant));

      await this.ledger.addBuckets(tx, result.buckets.values());
      await this.ledger.saveStates(tx, result.states.values());
      // Acknowledged by Kafka before the offset moves past them; a retry may publish them again.
      await this.deadLetters.publishAll(rejections);
      await this.ledger.storeOffset(
        tx,
        this.options.groupId,
        batch.topic,
        batch.partition,
        batch.nextOffset,
      );

      return {
        applied: fresh.length,
        skipped,
        rated: result.intervals.length,
        duplicates: result.duplicates,
        outOfOrder: result.outOfOrder,
        deadLettered: rejections.length,
        bucketsWritten: result.buckets.size,
      };
    });
  }

  private decode(messages: readonly ConsumedMessage[]): {
    samples: MeteredSample[];
    rejections: Rejection[];
  } {
    const samples: MeteredSample[] = [];
    const rejections: Rejection[] = [];
    const now = this.clock();
    for (const message of messages) {
      const decoded = decodeSample(message.value);
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

  private zoneOf(tenantId: string): string {
    return this.zones.get(tenantId) ?? this.options.defaultTimeZone;
  }

  private async refreshZones(): Promise<void> {
    if (this.clock() - this.zonesLoadedAt < this.options.tenantZoneTtlMs) return;
    this.zones = await this.ledger.tenantZones();
    this.zonesLoadedAt = this.clock();
  }
}

function uniqueBy<T>(items: readonly T[], key: (t: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item);
  return [...seen.values()];
}
