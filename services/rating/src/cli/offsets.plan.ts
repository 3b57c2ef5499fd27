import { type ContinuityVerdict } from '../domain/offset-continuity';

/** One partition as the operator's command sees it: the ledger's position against the topic. */
export interface PartitionView {
  readonly partition: number;
  readonly stored: bigint | null;
  readonly logStart: bigint;
  readonly logEnd: bigint;
  /** What the fingerprint check found. */
  readonly fingerprint: 'match' | 'mismatch' | 'not recorded' | 'not checkable' | 'not needed';
  readonly verdict: ContinuityVerdict;
}

export type OffsetsAction = 'reset_to_start' | 'accept_gap';

export type PartitionPlan =
  | {
      readonly partition: number;
      readonly eligible: true;
      readonly reason: string;
      readonly newOffset: bigint;
      /** Messages on the partition now that would be rated from the new position. */
      readonly toRate: bigint;
      /** Messages lost to retention, accepted by the decision (accept_gap). */
      readonly lost: bigint;
    }
  | { readonly partition: number; readonly eligible: false; readonly why: string };

/**
 * What an action would do to a partition, decided from what rating itself would decide
 * (domain/offset-continuity.ts): `reset_to_start` rates a topic that is not the one the position
 * was taken on from its first message; `accept_gap` continues after messages retention deleted.
 * Each is refused on a partition that does not need it: a partition in line is never moved.
 */
export function planAction(view: PartitionView, action: OffsetsAction): PartitionPlan {
  const { partition, verdict } = view;
  const toRate = view.logEnd - view.logStart;
  switch (verdict.kind) {
    case 'ok':
      return { partition, eligible: false, why: 'in line with the topic: nothing to decide' };
    case 'verify':
      return { partition, eligible: false, why: 'fingerprint not checked yet' };
    case 'stop':
      switch (verdict.reason) {
        case 'offset_beyond_end':
        case 'topic_changed':
          return action === 'reset_to_start'
            ? {
                partition,
                eligible: true,
                reason: verdict.reason,
                newOffset: view.logStart,
                toRate,
                lost: 0n,
              }
            : {
                partition,
                eligible: false,
                why: `${verdict.reason}: not a retention gap (use --reset-to-start)`,
              };
        case 'retention_gap':
          return action === 'accept_gap'
            ? {
                partition,
                eligible: true,
                reason: verdict.reason,
                newOffset: view.logStart,
                toRate,
                lost: verdict.lost,
              }
            : {
                partition,
                eligible: false,
                why: 'retention_gap: the same topic with messages lost (use --accept-gap)',
              };
      }
  }
}

/** One line of the status table. */
export function describeVerdict(verdict: ContinuityVerdict): string {
  switch (verdict.kind) {
    case 'ok':
      return verdict.from === null ? 'ok (no stored position)' : 'ok';
    case 'verify':
      return 'unchecked';
    case 'stop':
      return verdict.reason === 'retention_gap'
        ? `STOPPED retention_gap (${verdict.lost} lost)`
        : `STOPPED ${verdict.reason}`;
  }
}
