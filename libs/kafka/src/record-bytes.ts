// The bytes of the record batches a consumer holds, as buffers of their own it can free once it
// is done with them (kafkajs-record-batch.patch.ts makes them; LeanRecord reads from them and
// refuses to once they are freed). ADR 14, "TypeORM out of rating's process, and what starts the
// full collections".

/**
 * A record read after releaseRecordBytes freed its bytes: a fault of the caller (the batch was
 * done with), thrown rather than read as empty bytes, which would decode as a message that is not
 * the one Kafka holds.
 */
export class RecordReleasedError extends Error {
  override readonly name = 'RecordReleasedError';
  constructor(readonly offset: string) {
    super(`the record at offset ${offset} was read after its bytes were released`);
  }
}

/**
 * The bytes of the record batches kafkajs decoded, each copied into a buffer of its own
 * (kafkajs-record-batch.patch.ts), so a batch's records hold that buffer and not the whole fetch
 * response: the records' consumer frees it when it is done with them (releaseRecordBytes).
 */
const OWN_BYTES = new WeakSet<ArrayBufferLike>();

/** `bytes` copied into an ArrayBuffer of their own, which releaseRecordBytes may free. */
export function ownRecordBytes(bytes: Buffer): Buffer {
  const own = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(own);
  OWN_BYTES.add(own.buffer);
  return own;
}

/**
 * Frees the bytes of the messages' record batches now, not at V8's next full collection (ADR 14,
 * "TypeORM out of rating's process, and what starts the full collections"): held across a batch
 * window they are promoted, and external memory promoted since the last full collection counts
 * toward its start. For a consumer done with the messages (committed): reading one afterwards
 * throws RecordReleasedError. Only lean records' own batch buffers are freed (a record of a
 * compressed batch, or not lean, is left to the collector). Returns the bytes freed.
 */
export function releaseRecordBytes(messages: readonly unknown[]): number {
  const buffers = new Set<ArrayBuffer>();
  // A batch's records come in runs sharing one buffer: the set is asked once a run.
  let last: ArrayBufferLike | null = null;
  for (const m of messages) {
    const own = ownBytesOf(m);
    if (own === last) continue;
    last = own;
    if (own instanceof ArrayBuffer && own.byteLength > 0) buffers.add(own);
  }
  let freed = 0;
  for (const buffer of buffers) {
    freed += buffer.byteLength;
    // Transferred to a clone nothing holds: detached here, the memory freed with the clone.
    structuredClone(buffer, { transfer: [buffer] });
  }
  return freed;
}

/** Whether `bytes` are a record batch's own (ownRecordBytes). */
export function isOwnRecordBytes(bytes: ArrayBufferLike): boolean {
  return OWN_BYTES.has(bytes);
}

/** A lean record's own batch bytes (LeanRecord.ownBytes); null for anything else. */
function ownBytesOf(message: unknown): ArrayBufferLike | null {
  if (typeof message !== 'object' || message === null) return null;
  const ownBytes = (message as { ownBytes?: unknown }).ownBytes;
  return typeof ownBytes === 'function' ? (ownBytes.call(message) as ArrayBufferLike | null) : null;
}
