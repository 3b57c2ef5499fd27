import { randomUUID } from 'node:crypto';
import { type Kafka } from 'kafkajs';
import { type RawDlqRecord } from './dlq-record';

export interface TopicReadOptions {
  /** A batch must arrive within this long while records remain, or the read fails. */
  readonly idleTimeoutMs: number;
  /** Called once, before any record, with the number of records between start and end. */
  readonly onStart: (total: number) => void;
  /** Called for every record below the end offsets, partition by partition in offset order. */
  readonly onRecord: (record: RawDlqRecord) => void;
  /** Called after each batch with the number of offsets it covered. */
  readonly onProgress: (offsets: number) => void;
}

class TopicReadError extends Error {
  readonly code = 'TOPIC_READ_FAILED';
}

/**
 * Reads a topic from its log start to its end offsets as they were when the read began (records
 * appended meanwhile are left for the next read). kafkajs only consumes through a group: this one
 * is new each time (`<clientId>-dlq-cli-<uuid>`), commits nothing and is deleted afterwards, so
 * no group that rating uses is joined or moved.
 */
export class DlqTopicReader {
  constructor(
    private readonly kafka: Kafka,
    private readonly clientId: string,
  ) {}

  async read(topic: string, options: TopicReadOptions): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    let ends: Map<number, bigint>;
    let total = 0n;
    try {
      if (!(await admin.listTopics()).includes(topic)) {
        throw new TopicReadError(`topic ${topic} does not exist`);
      }
      const offsets = await admin.fetchTopicOffsets(topic);
      ends = new Map();
      for (const o of offsets) {
        const [low, high] = [BigInt(o.low), BigInt(o.high)];
        if (high > low) {
          ends.set(o.partition, high);
          total += high - low;
        }
      }
    } finally {
      await admin.disconnect();
    }
    options.onStart(Number(total));
    if (ends.size === 0) return;

    const groupId = `${this.clientId}-dlq-cli-${randomUUID()}`;
    const consumer = this.kafka.consumer({ groupId, allowAutoTopicCreation: false });
    let finish!: (error?: Error) => void;
    const finished = new Promise<void>((resolve, reject) => {
      finish = (error) => (error === undefined ? resolve() : reject(error));
    });
    // Awaited below unless connecting fails first: never an unhandled rejection.
    finished.catch(() => undefined);
    /** Per partition, the offset after the last record handed over: a batch fetched again is not. */
    const next = new Map<number, bigint>();
    let idle: NodeJS.Timeout | undefined;
    const armIdle = (): void => {
      clearTimeout(idle);
      idle = setTimeout(
        () =>
          finish(
            new TopicReadError(
              `no record of ${topic} arrived for ${options.idleTimeoutMs} ms; partitions left: ${[...ends.keys()].join(', ')}`,
            ),
          ),
        options.idleTimeoutMs,
      );
    };
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      armIdle();
      await consumer.run({
        autoCommit: false,
        eachBatch: ({ batch }) => {
          const end = ends.get(batch.partition);
          if (end === undefined) return Promise.resolve();
          armIdle();
          let covered = 0;
          for (const m of batch.messages) {
            const offset = BigInt(m.offset);
            if (offset >= end) break;
            if (offset < (next.get(batch.partition) ?? 0n)) continue;
            next.set(batch.partition, offset + 1n);
            options.onRecord({ partition: batch.partition, offset: m.offset, value: m.value });
            covered += 1;
          }
          options.onProgress(covered);
          // lastOffset() also covers offsets without a record (compaction, transaction markers).
          if (BigInt(batch.lastOffset()) >= end - 1n) ends.delete(batch.partition);
          if (ends.size === 0) finish();
          return Promise.resolve();
        },
      });
      await finished;
    } finally {
      clearTimeout(idle);
      await consumer.disconnect();
      await this.deleteGroup(groupId);
    }
  }

  /** The group committed nothing; deleting it leaves no trace (a group already gone is fine). */
  private async deleteGroup(groupId: string): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await admin.deleteGroups([groupId]);
    } catch {
      // GROUP_ID_NOT_FOUND: the broker already forgot an empty group without offsets.
    } finally {
      await admin.disconnect();
    }
  }
}
