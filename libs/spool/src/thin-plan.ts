import { encodeFrame } from './record.codec';
import { type SpoolRecord } from './spool-record';

/**
 * How the spool marks what it thinned (ADR 0013): the kept record that follows dropped ones of
 * the same instance says how many (`thinned` on metering.sample.v1), so rating counts them as
 * thinned, not as lost. Given by the publisher, which knows the records are samples.
 */
export interface ThinMarker {
  /** The instance a record's value belongs to; null when it cannot tell (never marked). */
  instanceOf(value: Buffer): string | null;
  /** How many thinned samples the value says already precede it (an earlier pass's mark). */
  thinnedIn(value: Buffer): number;
  /** The value saying `dropped` more samples were thinned right before it; null: cannot. */
  mark(value: Buffer, dropped: number): Buffer | null;
}

export type ThinDecision =
  | { readonly kind: 'keep' }
  | { readonly kind: 'drop' }
  | { readonly kind: 'replace'; readonly value: Buffer };

export interface ThinCandidate {
  readonly record: SpoolRecord;
  /** Leased (on its way to Kafka) or otherwise untouchable: kept as it is. */
  readonly protected: boolean;
}

/**
 * One segment's share of a thinning pass, in order: every second `running` record of each key
 * (counting across the pass in `seenPerKey`) is dropped; `start`, `final` and protected records
 * are kept. With a marker, a record is dropped only when a later kept record of the same key and
 * instance in the segment can say so (it is then replaced by its marked value); one without such a
 * successor, or whose instance the marker cannot tell, is kept, so no drop goes unsaid. Pure.
 */
export function planThinning(
  records: readonly ThinCandidate[],
  seenPerKey: Map<string, number>,
  marker: ThinMarker | null,
): ThinDecision[] {
  const keys = records.map((c) => c.record.key.toString('latin1'));
  const tentative = records.map((c, i) => {
    if (c.protected || c.record.lifecycle !== 'running') return false;
    const key = keys[i]!;
    const seen = seenPerKey.get(key) ?? 0;
    seenPerKey.set(key, seen + 1);
    return seen % 2 === 1;
  });
  if (marker === null) {
    return tentative.map((drop) => (drop ? { kind: 'drop' } : { kind: 'keep' }));
  }
  // Backwards: each tentative drop goes to the next kept record of its key and instance.
  const instances = records.map((c) => marker.instanceOf(c.record.value));
  const nextKept = new Map<string, number>();
  const marks = new Map<number, number>();
  const dropped = new Array<boolean>(records.length).fill(false);
  for (let i = records.length - 1; i >= 0; i--) {
    const instance = instances[i];
    if (instance === null || instance === undefined) continue; // never dropped nor marked
    const slot = `${keys[i]!}\u0000${instance}`;
    const successor = nextKept.get(slot);
    if (tentative[i] === true && successor !== undefined) {
      dropped[i] = true;
      // It goes, and so does what it said: its successor says both (a later pass thins again).
      const carried = 1 + marker.thinnedIn(records[i]!.record.value);
      marks.set(successor, (marks.get(successor) ?? 0) + carried);
      continue;
    }
    if (!records[i]!.protected) nextKept.set(slot, i);
    else nextKept.delete(slot);
  }
  return records.map((c, i): ThinDecision => {
    if (dropped[i] === true) return { kind: 'drop' };
    const count = marks.get(i);
    if (count === undefined) return { kind: 'keep' };
    const value = marker.mark(c.record.value, count);
    return value === null ? { kind: 'keep' } : { kind: 'replace', value };
  });
}

/**
 * A segment's frames after `decisions` (planThinning's, in the same order): dropped ones gone,
 * marked ones re-encoded with their new value in the same place and sequence number. Pure.
 */
export function applyThinning(
  frames: readonly { record: SpoolRecord; bytes: Buffer }[],
  decisions: readonly ThinDecision[],
): { kept: Buffer[]; keptBytes: number; dropped: number } {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let dropped = 0;
  for (const [i, { record, bytes }] of frames.entries()) {
    const decision = decisions[i] ?? { kind: 'keep' };
    if (decision.kind === 'drop') {
      dropped++;
      continue;
    }
    // A marked record keeps its place and sequence number, with its new value.
    const frame =
      decision.kind === 'replace' ? encodeFrame({ ...record, value: decision.value }) : bytes;
    kept.push(frame);
    keptBytes += frame.length;
  }
  return { kept, keptBytes, dropped };
}
