import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  NO_COUNTERS,
  type Share,
  completenessShare,
  shareToFixed,
  shareToNumber,
  weightedShare,
} from './completeness';

const share = (n: bigint, d: bigint): Share => ({ numerator: n, denominator: d });
const eq = (a: Share | null, n: bigint, d: bigint): void => {
  assert.ok(a !== null);
  assert.equal(a.numerator * d, n * a.denominator, `${a.numerator}/${a.denominator} ≠ ${n}/${d}`);
};

test('declared samples: observed / expected; undeclared time: the share outside gaps', () => {
  assert.equal(completenessShare(NO_COUNTERS), null, 'no time: nothing to judge');
  const declared = {
    ...NO_COUNTERS,
    observedMs: 3_600_000n,
    samplesExpected: 360n,
    samplesObserved: 180n,
    samplesThinned: 90n,
    declaredMs: 3_600_000n,
  };
  eq(completenessShare(declared), 1n, 2n);
  eq(completenessShare({ ...NO_COUNTERS, observedMs: 3_000n, gapMs: 1_000n }), 3n, 4n);
  // A tail counts against both kinds.
  eq(completenessShare({ ...NO_COUNTERS, observedMs: 3_000n, inferredGapMs: 1_000n }), 3n, 4n);
  // Half declared (all present), half undeclared (half of it a gap): 3/4.
  eq(
    completenessShare({
      ...NO_COUNTERS,
      observedMs: 1_500n,
      gapMs: 500n,
      samplesExpected: 10n,
      samplesObserved: 10n,
      declaredMs: 1_000n,
    }),
    3n,
    4n,
  );
  // More observed than expected (a bucket's edge) is shown as complete, never above.
  eq(completenessShare({ ...declared, samplesObserved: 400n }), 1n, 1n);
});

test('a line weighs its resources by usage; all-zero usage weighs them alike', () => {
  eq(
    weightedShare([
      { weight: 3n, share: share(1n, 1n) },
      { weight: 1n, share: share(0n, 1n) },
    ]),
    3n,
    4n,
  );
  eq(
    weightedShare([
      { weight: 0n, share: share(1n, 2n) },
      { weight: 0n, share: share(1n, 1n) },
    ]),
    3n,
    4n,
  );
  eq(
    weightedShare([
      { weight: 5n, share: null },
      { weight: 1n, share: share(2n, 3n) },
    ]),
    2n,
    3n,
  );
  assert.equal(weightedShare([]), null);
  assert.equal(weightedShare([{ weight: 1n, share: null }]), null);
});

test('the weighted share equals Σ w·s / Σ w and stays within [0, 1]', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          weight: fc.bigInt({ min: 1n, max: 10n ** 15n }),
          d: fc.bigInt({ min: 1n, max: 10n ** 12n }),
          k: fc.double({ min: 0, max: 1, noNaN: true }),
        }),
        { minLength: 1, maxLength: 20 },
      ),
      (parts) => {
        const shares = parts.map((p) => ({
          weight: p.weight,
          share: share(BigInt(Math.floor(p.k * Number(p.d))), p.d),
        }));
        const w = weightedShare(shares);
        assert.ok(w !== null && w.numerator >= 0n && w.numerator <= w.denominator);
        const expected =
          shares.reduce(
            (a, p) =>
              a + (Number(p.weight) * Number(p.share.numerator)) / Number(p.share.denominator),
            0,
          ) / shares.reduce((a, p) => a + Number(p.weight), 0);
        assert.ok(Math.abs(shareToNumber(w) - expected) < 1e-9);
      },
    ),
  );
});

test('shown rounded down to the places asked for', () => {
  assert.equal(shareToFixed(share(2n, 3n), 4), '0.6666');
  assert.equal(shareToFixed(share(1n, 1n), 4), '1.0000');
  assert.equal(shareToFixed(share(0n, 7n), 2), '0.00');
  assert.equal(shareToFixed(share(9_999_999n, 10_000_000n), 4), '0.9999');
  assert.equal(shareToFixed(share(1n, 3n), 0), '0');
});
