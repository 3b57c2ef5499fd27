import { type Completeness } from '../domain';

/**
 * The invoice's completeness sentence (docs/product.md, "Completeness"): the figure, what it
 * counts, and the gaps by cause, so a reader sees what is missing and that it was not billed.
 * `percent` formats a ratio string for the invoice's locale.
 */
export function completenessText(c: Completeness, percent: (ratio: string) => string): string {
  if (c.ratio === null) return 'Data completeness: no metered time in this period.';
  const expected = BigInt(c.samplesExpected ?? '0');
  const parts: string[] = [];
  if (expected > 0n) {
    parts.push(
      `Data completeness: ${percent(c.ratio)} of expected samples present ` +
        `(${c.samplesObserved ?? '0'} of ${expected}).`,
    );
    const thinned = BigInt(c.samplesThinned ?? '0');
    if (thinned > 0n) {
      parts.push(
        `${thinned} thinned by a collector's spool while Kafka was away (their CPU is counted).`,
      );
    }
  } else {
    parts.push(`Data completeness: ${percent(c.ratio)} of metered time observed.`);
  }
  const gaps: string[] = [];
  const silence = BigInt(c.gapMs);
  const tail = BigInt(c.inferredGapMs ?? '0');
  if (silence > 0n) gaps.push(`${duration(silence)} of silence between samples`);
  if (tail > 0n) {
    gaps.push(
      `${duration(tail)} unseen after resources ended while their collector was down ` +
        '(the end is inferred from the last reading)',
    );
  }
  parts.push(gaps.length === 0 ? 'No gaps.' : `Gaps, not billed as usage: ${gaps.join('; ')}.`);
  return parts.join(' ');
}

/** "2 h 05 min", "3 min 20 s", "0.4 s": milliseconds for people. */
export function duration(ms: bigint): string {
  if (ms < 1_000n) return `${(Number(ms) / 1000).toFixed(1)} s`;
  const s = ms / 1000n;
  const h = s / 3600n;
  const m = (s % 3600n) / 60n;
  const sec = s % 60n;
  if (h > 0n) return `${h} h ${m.toString().padStart(2, '0')} min`;
  if (m > 0n) return `${m} min ${sec.toString().padStart(2, '0')} s`;
  return `${sec} s`;
}
