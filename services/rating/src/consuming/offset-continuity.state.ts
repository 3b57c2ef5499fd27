// A partition's standing in the continuity check (ADR 0008): running, verifying the message
// before the position, idle after a check, or stopped for an operator; what the guard answers for
// a batch; and what it needs of the consumer.
import { type ConsumedBatch } from '@metering/kafka';
import { type StopReason } from '../domain/offset-continuity';

/** What the guard needs of the consumer: stopping, resuming and moving one partition. */
export interface PartitionControl {
  pause(topic: string, partitions: readonly number[]): void;
  resume(topic: string, partitions: readonly number[]): void;
  seek(topic: string, partition: number, offset: string): void;
}

export type Admission =
  /** Rate these messages (the batch, less any already in the ledger or read to verify). */
  | { readonly kind: 'rate'; readonly batch: ConsumedBatch }
  /** The batch held only the message read to verify, and it matched: resolve it, rate nothing. */
  | { readonly kind: 'verified' }
  /** Rate nothing and resolve nothing: the partition was stopped or moved. */
  | { readonly kind: 'hold' };

export type PartitionState =
  /** No position to verify against (none stored, or stored without a fingerprint). */
  | { readonly kind: 'running'; readonly expected: bigint | null }
  /**
   * Sought to `at` (stored - 1): the batch must start with the message rated there, whose
   * fingerprint is known (from the ledger, or the batch just committed).
   */
  | { readonly kind: 'verifying'; readonly at: bigint; readonly fingerprint: string | null }
  /**
   * The fetch from `expected` - 1 held nothing after it. Caught up (the log ended there): the next
   * batch is held and read again from `expected` - 1. At the end of a record batch with more in
   * the log (the broker answers whole record batches, so seeking back would fetch the same one
   * in a loop): the next batch follows if fetched before `followUntilMs`.
   */
  | {
      readonly kind: 'idle';
      readonly expected: bigint;
      readonly fingerprint: string;
      readonly followUntilMs: number;
    }
  | {
      readonly kind: 'stopped';
      readonly reason: StopReason;
      readonly lost: bigint;
      readonly stored: bigint | null;
      readonly logStart: bigint;
      readonly logEnd: bigint;
      readonly revision: string | null;
      readonly since: Date;
    };

export type StoppedState = Extract<PartitionState, { kind: 'stopped' }>;

/**
 * How long a check that ended a record batch (more in the log) vouches for the fetch right after
 * it: about one fetch. A topic replaced within that window, exactly then, is read on unverified.
 */
export const FOLLOW_RECORD_BATCH_MS = 1_000;

/** The next offset a partition's state expects to read (null: not known, or stopped). */
export function expectedOf(state: PartitionState): bigint | null {
  switch (state.kind) {
    case 'running':
      return state.expected;
    case 'verifying':
      return state.at + 1n;
    case 'idle':
      return state.expected;
    case 'stopped':
      return null;
  }
}
