/** A reading of a memory level at an instant. */
export interface LevelReading {
  readonly atMs: number;
  readonly bytes: number;
}

/**
 * ∫ level dt over [fromMs, toMs], in byte-seconds, from readings taken a fraction of a second
 * apart: linear between readings, the first and last held flat out to the ends. Readings outside
 * the window are ignored, except that the nearest ones bound it.
 */
export function byteSeconds(
  readings: readonly LevelReading[],
  fromMs: number,
  toMs: number,
): number {
  const points = [...readings].sort((a, b) => a.atMs - b.atMs);
  if (points.length === 0 || toMs <= fromMs) return 0;
  const levelAt = (t: number): number => {
    const first = points[0]!;
    const last = points[points.length - 1]!;
    if (t <= first.atMs) return first.bytes;
    if (t >= last.atMs) return last.bytes;
    let i = 1;
    while (points[i]!.atMs < t) i += 1;
    const a = points[i - 1]!;
    const b = points[i]!;
    return a.bytes + ((b.bytes - a.bytes) * (t - a.atMs)) / (b.atMs - a.atMs);
  };
  const edges = [fromMs, ...points.map((p) => p.atMs).filter((t) => t > fromMs && t < toMs), toMs];
  let total = 0;
  for (let i = 1; i < edges.length; i++) {
    const t0 = edges[i - 1]!;
    const t1 = edges[i]!;
    total += ((levelAt(t0) + levelAt(t1)) / 2) * ((t1 - t0) / 1000);
  }
  return total;
}
