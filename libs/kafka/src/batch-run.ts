// One batch through the handler: what it processed is resolved (the offset kafkajs commits, or
// the position the application stores), counted and timed; its failure is classified as retried
// by kafkajs from the same position or fatal (the consumer stops).
import { performance } from 'node:perf_hooks';
import { KafkaJSNonRetriableError, type EachBatchPayload } from 'kafkajs';
import { type Logger } from '@metering/observability';
import {
  toConsumedBatch,
  withinBatch,
  type BatchHandler,
  type BatchResult,
} from './consumed-batch';
import { isRetriable } from './kafka-error.classifier';
import { ConsumerStateError } from './kafka.errors';
import { type KafkaMetrics } from './kafka.metrics';
import { compareOffsets } from './kafka-offsets';

/** Runs the handler, resolves what it processed, records metrics, classifies failures. */
export async function runBatch(
  handler: BatchHandler,
  payload: EachBatchPayload,
  signal: AbortSignal,
  deps: { logger: Logger; metrics: KafkaMetrics; groupId: string },
): Promise<void> {
  const { batch } = payload;
  const consumed = toConsumedBatch(payload);
  const started = performance.now();
  let result: BatchResult;
  try {
    result = await handler(consumed, { signal, heartbeat: () => payload.heartbeat() });
  } catch (error) {
    if (isRetriable(error)) {
      deps.logger.warn(
        { err: error, topic: batch.topic, partition: batch.partition },
        'batch failed, will be retried',
      );
      throw error;
    }
    deps.logger.fatal(
      {
        err: error,
        topic: batch.topic,
        partition: batch.partition,
        offset: consumed.firstOffset,
      },
      'batch failed with a non-retriable error; stopping the consumer',
    );
    // Non-retriable for kafkajs too: it crashes the consumer without restarting it. The
    // cause lets kafkajs (and onCrash) see the handler's own error.
    throw Object.assign(
      new KafkaJSNonRetriableError(error instanceof Error ? error : String(error)),
      { cause: error },
    );
  }
  const last = result === undefined ? consumed.lastOffset : result.lastProcessedOffset;
  if (last !== null && !withinBatch(consumed, last)) {
    throw new ConsumerStateError(
      `lastProcessedOffset ${last} is outside the batch ${consumed.firstOffset}..${consumed.lastOffset}`,
    );
  }
  if (last !== null) {
    payload.resolveOffset(last);
    deps.metrics.consumed(batch.topic, deps.groupId, countThrough(consumed.messages, last));
  }
  deps.metrics.batch('consumer', batch.topic, (performance.now() - started) / 1000);
}

/**
 * The messages up to and including `last`: a batch is in offset order, so from the end, and
 * nearly always all of them (the handler processed the whole batch) after one comparison.
 */
export function countThrough(messages: readonly { offset: string }[], last: string): number {
  let n = messages.length;
  while (n > 0 && compareOffsets(messages[n - 1]!.offset, last) > 0) n -= 1;
  return n;
}
