import { createHash } from 'node:crypto';
import { type ConsumedBatch, type ConsumedMessage } from '@metering/kafka';
import { type OffsetFingerprints } from '../ledger/batch-ledger.store';

/**
 * SHA-256 of a message's key, value and broker timestamp: what identifies "the message at offset
 * n" of a log well enough to tell two logs apart (docs/adr/0008-offset-continuity.md). Lengths
 * are framed (null distinct from empty) so no two (key, value) pairs hash alike by concatenation.
 */
export function messageFingerprint(
  message: Pick<ConsumedMessage, 'key' | 'value' | 'timestamp'>,
): Buffer {
  const hash = createHash('sha256');
  for (const part of [message.key, message.value]) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(part === null ? 0xffff_ffff : part.length);
    hash.update(length);
    if (part !== null) hash.update(part);
  }
  hash.update(message.timestamp, 'utf8');
  return hash.digest();
}

/**
 * The batches being rated, so the ledger can store, with a partition's next offset and in the
 * same transaction, the fingerprint of the message just before it (whatever part of the batch a
 * transaction commits). The runner tracks each batch before handing it to the processor and
 * releases it after.
 */
export class BatchFingerprints implements OffsetFingerprints {
  private readonly batches = new Map<string, ConsumedBatch>();

  track(batch: ConsumedBatch): void {
    this.batches.set(partitionKey(batch.topic, batch.partition), batch);
  }

  release(batch: ConsumedBatch): void {
    const key = partitionKey(batch.topic, batch.partition);
    if (this.batches.get(key) === batch) this.batches.delete(key);
  }

  of(topic: string, partition: number, nextOffset: string): Buffer | null {
    const batch = this.batches.get(partitionKey(topic, partition));
    if (batch === undefined) return null;
    const at = (BigInt(nextOffset) - 1n).toString();
    // Nearly always the batch's last message (a whole batch commits): no scan then.
    const last = batch.messages[batch.messages.length - 1];
    const message = last?.offset === at ? last : batch.messages.find((m) => m.offset === at);
    return message === undefined ? null : messageFingerprint(message);
  }
}

const partitionKey = (topic: string, partition: number): string => `${partition}:${topic}`;
