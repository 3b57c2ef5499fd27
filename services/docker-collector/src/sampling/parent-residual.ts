/**
 * The CPU time of a parent cgroup that no child sample carries.
 *
 * A parent cgroup's counter is hierarchical and keeps counting children that have exited and
 * been removed (docs/environment.md, "Docker Engine"). With U(t) the parent's counter read at
 * time t, U0 at the baseline, and for each child instance c seen under it B_c a reading of it
 * from before the baseline (0 for children started after it) and v_c(t) its CPU value as
 * published for t:
 *
 *     R(t) = (U(t) − U0) − Σ_c (v_c(t) − B_c)
 *
 * is what the children used beyond their samples: the tail after their last reading, and
 * whole children that were never read. Published as its own cumulative counter it makes the
 * tenant's total exact.
 *
 * Never counting twice: R must never exceed its eventual value, since rating bills every
 * increase. v_c(t) is therefore the first sample of c *read after* t (so v_c(t) ≥ c's counter
 * at t), or its final value if it ended with nothing read after t; while a live child has no
 * sample read after t, R(t) is not evaluated. Children unknown at t would be missing from
 * the sum, and if found later (adopted with base 0, their samples carrying their whole
 * counter) counted twice: the caller evaluates R only on a parent reading that a listing of
 * running containers made after it has covered (every child running at it, and still
 * running, is then known), an earlier cycle's, when every child whose start event came is
 * known too. Every remaining error — a base
 * below the child's value at the baseline, a child started after t — makes R smaller, never
 * larger. The published counter is the running maximum of R: monotone (rating treats a
 * decrease as a reset) and never above the truth; what it lags by is recovered later.
 */
export class ParentResidual {
  private readonly children = new Map<string, ChildShare>();
  /** Σ (v_c − B_c) of children that have ended and are settled. */
  private endedSum = 0n;
  private publishedValue = 0n;

  /** A residual as an earlier run of the collector left it (see snapshot()). */
  static restore(parentPath: string, s: ResidualSnapshot): ParentResidual {
    const r = new ParentResidual(parentPath, BigInt(s.baselineNs), s.baselineAt);
    r.endedSum = BigInt(s.endedSum);
    r.publishedValue = BigInt(s.published);
    for (const c of s.children) {
      r.children.set(c.key, {
        base: BigInt(c.base),
        history: c.history.map(([at, value]) => ({ at, value: BigInt(value) })),
        ended: c.ended,
      });
    }
    return r;
  }

  /**
   * Everything the residual depends on, as JSON-safe values: with it a restarted collector
   * continues the same residual, so the CPU of children that exit while it is down is metered
   * (their part after their last published sample) and nothing they published is counted again.
   */
  snapshot(): ResidualSnapshot {
    return {
      baselineNs: String(this.baselineNs),
      baselineAt: this.baselineAt,
      endedSum: String(this.endedSum),
      published: String(this.publishedValue),
      children: [...this.children].map(([key, c]) => ({
        key,
        base: String(c.base),
        history: c.history.map((h): [number, string] => [h.at, String(h.value)]),
        ended: c.ended,
      })),
    };
  }

  /** Keys of the children not settled yet. */
  childKeys(): string[] {
    return [...this.children.keys()];
  }

  /** A residual value published before a restart: the running maximum starts from it. */
  restorePublished(value: bigint): void {
    if (value > this.publishedValue) this.publishedValue = value;
  }

  constructor(
    readonly parentPath: string,
    /** The parent's counter at the baseline. */
    readonly baselineNs: bigint,
    /** When the baseline was read, epoch ms. */
    readonly baselineAt: number,
  ) {}

  /** The running residual, as last evaluated. */
  get published(): bigint {
    return this.publishedValue;
  }

  /** Children not settled yet (live, or ended but still needed for an evaluation). */
  get childCount(): number {
    return this.children.size;
  }

  /**
   * Starts counting a child. `base`: a reading of it that returned before the baseline was
   * read (at most its value at the baseline), or 0 when there is none — for a child started
   * after the baseline that is exact; for an older one it only makes R smaller.
   */
  adopt(childKey: string, base: bigint): void {
    if (this.children.has(childKey)) return;
    this.children.set(childKey, { base, history: [], ended: false });
  }

  /** A sample of the child was published: its CPU value, read starting at `readAt`. */
  childPublished(childKey: string, readAt: number, cpuNs: bigint): void {
    const child = this.children.get(childKey);
    if (child === undefined) return;
    const last = child.history.at(-1);
    if (last !== undefined && (readAt <= last.at || cpuNs < last.value)) return;
    child.history.push({ at: readAt, value: cpuNs });
  }

  /** The child ended; its final sample (if any) was reported through childPublished. */
  childEnded(childKey: string): void {
    const child = this.children.get(childKey);
    if (child !== undefined) child.ended = true;
  }

  /**
   * R at a reading `parentNs` of the parent that returned at `readDoneAt`. Null when a live
   * child has no sample read after it yet (evaluate a later reading instead). Otherwise the
   * new published value (monotone, from 0); evaluations must come in increasing time order.
   */
  residualAt(parentNs: bigint, readDoneAt: number): bigint | null {
    let sum = this.endedSum;
    const settled: Array<[string, bigint]> = [];
    for (const [key, child] of this.children) {
      const after = child.history.find((h) => h.at >= readDoneAt);
      let value: bigint;
      if (after !== undefined) {
        value = after.value;
      } else if (child.ended) {
        value = child.history.at(-1)?.value ?? child.base;
        settled.push([key, value > child.base ? value - child.base : 0n]);
      } else {
        return null;
      }
      if (value > child.base) sum += value - child.base;
    }
    for (const [key, share] of settled) {
      this.endedSum += share;
      this.children.delete(key);
    }
    // Later evaluations look only at samples read after a later reading: keep the last one.
    for (const child of this.children.values()) {
      const firstKept = child.history.findIndex((h) => h.at >= readDoneAt);
      const keepFrom = firstKept < 0 ? child.history.length - 1 : Math.max(0, firstKept - 1);
      if (keepFrom > 0) child.history.splice(0, keepFrom);
    }
    const residual = parentNs - this.baselineNs - sum;
    if (residual > this.publishedValue) this.publishedValue = residual;
    return this.publishedValue;
  }
}

export interface ResidualSnapshot {
  readonly baselineNs: string;
  readonly baselineAt: number;
  readonly endedSum: string;
  readonly published: string;
  readonly children: readonly {
    readonly key: string;
    readonly base: string;
    /** Published samples: [read at (epoch ms), CPU ns]. */
    readonly history: readonly (readonly [number, string])[];
    readonly ended: boolean;
  }[];
}

interface ChildShare {
  readonly base: bigint;
  /** Published samples, in read order. */
  readonly history: Array<{ at: number; value: bigint }>;
  ended: boolean;
}
