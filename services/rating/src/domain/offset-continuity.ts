/**
 * Whether a partition's stored position still belongs to the log it is about to be read from
 * (docs/adr/0008-offset-continuity.md). Rating stores the next offset of each partition in the
 * ledger; Kafka knows nothing of it. When the two disagree, reading on would either skip real
 * messages as "already applied" (a new topic behind an old position) or pretend nothing was lost
 * (retention deleted what was never rated). Neither may happen silently: the partition stops
 * until an operator decides.
 */

/** Why a partition was stopped: a fixed set (it labels a metric). */
export type StopReason = 'offset_beyond_end' | 'topic_changed' | 'retention_gap';

export const STOP_REASONS: readonly StopReason[] = [
  'offset_beyond_end',
  'topic_changed',
  'retention_gap',
];

export type FoundMessage = 'unread' | { readonly fingerprint: string | null };

export interface ContinuityInput {
  /** The stored next offset; null when this group never committed this partition. */
  readonly stored: bigint | null;
  /** The log start offset (low watermark): the first message the broker still has. */
  readonly logStart: bigint;
  /** The log end offset (high watermark): the offset the next message will get. */
  readonly logEnd: bigint;
  /** Fingerprint of the message at stored - 1, recorded with the offset; null when unknown. */
  readonly storedFingerprint: string | null;
  /**
   * The message now at stored - 1, once read ('unread' before); its fingerprint null when the
   * broker had no message there (deleted or truncated meanwhile).
   */
  readonly found: FoundMessage;
}

export type ContinuityVerdict =
  /** Resume at `from` (null: no stored position, start where the consumer's default says). */
  | { readonly kind: 'ok'; readonly from: bigint | null; readonly verified: boolean }
  /** Read the message at `at` (stored - 1) and decide again with its fingerprint. */
  | { readonly kind: 'verify'; readonly at: bigint }
  | {
      readonly kind: 'stop';
      readonly reason: StopReason;
      /** Messages between the stored offset and the log start (retention gaps only; else 0). */
      readonly lost: bigint;
    };

/**
 * The decision, in order:
 * 1. no stored position: nothing to compare with (a new group or partition);
 * 2. stored beyond the log end: the log is not the one the position was taken on (recreated,
 *    another cluster, truncated by an unclean leader election);
 * 3. log start beyond stored: retention deleted `logStart - stored` messages never rated;
 * 4. a fingerprint to compare and a message to compare it with (stored - 1 still in the log):
 *    read it; equal means the same log, different means another topic under the same name;
 * 5. otherwise (no fingerprint recorded, or stored - 1 already deleted): resume, unverified.
 */
export function decideContinuity(input: ContinuityInput): ContinuityVerdict {
  const { stored, logStart, logEnd } = input;
  if (logStart < 0n || logEnd < logStart) {
    throw new RangeError(`watermarks out of order: log start ${logStart}, log end ${logEnd}`);
  }
  if (stored === null) return { kind: 'ok', from: null, verified: false };
  if (stored < 0n) throw new RangeError(`stored offset ${stored} is negative`);
  if (stored > logEnd) return { kind: 'stop', reason: 'offset_beyond_end', lost: 0n };
  if (logStart > stored) return { kind: 'stop', reason: 'retention_gap', lost: logStart - stored };
  const at = stored - 1n;
  if (input.storedFingerprint === null || at < logStart) {
    return { kind: 'ok', from: stored, verified: false };
  }
  if (input.found === 'unread') return { kind: 'verify', at };
  if (input.found.fingerprint === input.storedFingerprint) {
    return { kind: 'ok', from: stored, verified: true };
  }
  return { kind: 'stop', reason: 'topic_changed', lost: 0n };
}

/**
 * Whether a batch continues where the partition's position says it should. A batch starting
 * anywhere else means the consumer's position moved without rating moving it (kafkajs resets an
 * out-of-range fetch position to the log start on its own), so the continuity is decided again
 * before anything of the batch is rated. A batch starting later than expected is legitimate only
 * over offsets that hold no message (transaction markers), which the new decision confirms.
 */
export function continuesAt(expected: bigint | null, firstOffset: bigint): boolean {
  return expected === null || firstOffset === expected;
}
