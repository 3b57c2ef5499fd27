import { hourBucketStart } from '@metering/pricing';
import { type PlanAssignment, type PlanSegment } from './invoice.model';

/**
 * When an assignment starts to count: the start of the tenant's hour bucket holding its
 * `effectiveFrom`. The ledger holds whole hour buckets, so a change inside a bucket cannot be
 * split exactly; the whole bucket goes to the new plan (assignments are truncated to the hour).
 */
export function effectiveBucketStart(timeZone: string, effectiveFromMs: number): number {
  return hourBucketStart(timeZone, effectiveFromMs);
}

/**
 * Splits [startMs, endMs) at every assignment that takes effect inside it. The first segment is
 * billed by the assignment in force at the start (if any); time before the first assignment has
 * no plan and is not charged. Segments are contiguous, cover the range, and never empty.
 */
export function planSegments(
  startMs: number,
  endMs: number,
  timeZone: string,
  assignments: readonly PlanAssignment[],
): PlanSegment[] {
  const sorted = assignments
    .map((a) => ({ ...a, effectiveFromMs: effectiveBucketStart(timeZone, a.effectiveFromMs) }))
    .sort((a, b) => a.effectiveFromMs - b.effectiveFromMs);
  // Of two assignments truncated to the same bucket, the later one (in effect order) wins.
  const byStart = new Map<number, PlanAssignment>();
  for (const a of sorted) byStart.set(a.effectiveFromMs, a);
  const ordered = [...byStart.values()];

  let current: PlanAssignment | null = null;
  for (const a of ordered) if (a.effectiveFromMs <= startMs) current = a;
  const segments: PlanSegment[] = [];
  let from = startMs;
  for (const a of ordered) {
    if (a.effectiveFromMs <= startMs || a.effectiveFromMs >= endMs) continue;
    segments.push({
      index: segments.length,
      fromMs: from,
      toMs: a.effectiveFromMs,
      plan: current?.plan ?? null,
    });
    from = a.effectiveFromMs;
    current = a;
  }
  segments.push({ index: segments.length, fromMs: from, toMs: endMs, plan: current?.plan ?? null });
  return segments;
}
