import { randomUUID } from 'node:crypto';
import { type Kafka } from 'kafkajs';
import { type ConsumedMessage, toConsumedMessage } from './consumed-batch';
import { ConsumerStateError } from './kafka.errors';
import { compareOffsets, isOffset } from './kafka-offsets';

export interface MessageAt {
  partition: number;
  offset: string;
}

/**
 * Reads the messages at the given offsets of a topic, for operators' tools (an out-of-band look
 * at a topic, not a way to consume it). kafkajs has no group-less consumer: a throwaway group is
 * joined, sought, and deleted afterwards. A target the broker does not have (below the log start,
 * at or past the log end) maps to null. Bounded by `timeoutMs`.
 */
export async function readMessagesAt(
  kafka: Kafka,
  topic: string,
  targets: readonly MessageAt[],
  timeoutMs = 30_000,
): Promise<Map<string, ConsumedMessage | null>> {
  const key = (partition: number, offset: string): string => `${partition}@${offset}`;
  const found = new Map<string, ConsumedMessage | null>();
  if (targets.length === 0) return found;
  for (const t of targets) {
    if (!isOffset(t.offset)) throw new ConsumerStateError(`read at offset ${t.offset}`);
  }
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `metering-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 200 });
  try {
    // Targets outside [log start, log end) are answered without asking the broker for them.
    const marks = new Map(
      (await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o] as const),
    );
    const wanted = new Map<number, string>();
    for (const t of targets) {
      const m = marks.get(t.partition);
      const inLog =
        m !== undefined &&
        compareOffsets(t.offset, m.low) >= 0 &&
        compareOffsets(t.offset, m.high) < 0;
      if (inLog) wanted.set(t.partition, t.offset);
      else found.set(key(t.partition, t.offset), null);
    }
    if (targets.length > wanted.size + found.size) {
      throw new ConsumerStateError('read at most one offset per partition at a time');
    }
    if (wanted.size === 0) return found;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const sought = new Set<number>();
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const [partition, offset] of wanted) {
        consumer.seek({ topic, partition, offset });
        sought.add(partition);
      }
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => {
        const { batch } = payload;
        const target = wanted.get(batch.partition);
        if (target === undefined || payload.isStale() || !sought.has(batch.partition)) {
          return Promise.resolve();
        }
        const first = batch.messages[0];
        // The message at the target, or the offset was deleted meanwhile (the batch starts later).
        const message = batch.messages.find((m) => m.offset === target);
        if (
          message !== undefined ||
          (first !== undefined && compareOffsets(first.offset, target) > 0)
        ) {
          found.set(
            key(batch.partition, target),
            message === undefined ? null : toConsumedMessage(topic, batch.partition, message),
          );
          wanted.delete(batch.partition);
          consumer.pause([{ topic, partitions: [batch.partition] }]);
        }
        if (wanted.size === 0) done();
        return Promise.resolve();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      finished,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new ConsumerStateError(`no answer from ${topic} within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    return found;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
