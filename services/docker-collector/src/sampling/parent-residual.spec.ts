import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ParentResidual } from './parent-residual';

describe('ParentResidual', () => {
  test('what children used after their last sample, and unseen children, is the residual', () => {
    const r = new ParentResidual('/metering/acme', 1_000n, 0);
    r.adopt('a', 0n);
    r.childPublished('a', 10, 100n);
    r.childPublished('a', 20, 300n);
    r.childEnded('a'); // it used 350 in total: 50 after its last reading
    // Parent at t=30: baseline 1000 + a's 350 + 200 of a child never seen.
    assert.equal(r.residualAt(1_550n, 30), 250n);
    assert.equal(r.childCount, 0, 'settled');
  });

  test('a live child needs a sample read after the parent reading', () => {
    const r = new ParentResidual('/p', 0n, 0);
    r.adopt('a', 0n);
    r.childPublished('a', 10, 100n);
    assert.equal(r.residualAt(150n, 20), null, 'a has nothing read after t=20 yet');
    r.childPublished('a', 25, 160n);
    // The first sample after t=20 (160) stands for a at t=20: R = 150 − 160 < 0 → stays 0.
    assert.equal(r.residualAt(150n, 20), 0n);
  });

  test('the first sample after the reading is used, not the latest one', () => {
    const r = new ParentResidual('/p', 0n, 0);
    r.adopt('a', 0n);
    r.adopt('b', 0n);
    r.childPublished('b', 5, 40n);
    r.childEnded('b'); // b used 70 in all: 30 unseen
    r.childPublished('a', 21, 100n);
    r.childPublished('a', 31, 900n); // a burnt a lot after the parent reading at t=20
    assert.equal(r.residualAt(100n + 70n, 20), 30n);
  });

  test('the published residual is monotone: a dip is held, never a reset', () => {
    const r = new ParentResidual('/p', 0n, 0);
    r.adopt('a', 0n);
    r.childPublished('a', 11, 50n);
    assert.equal(r.residualAt(100n, 10), 50n);
    r.childPublished('a', 21, 120n);
    assert.equal(r.residualAt(150n, 20), 50n, 'R would be 30: held at 50');
    r.childPublished('a', 31, 130n);
    assert.equal(r.residualAt(200n, 30), 70n);
  });

  test('a base from before the baseline is not counted again', () => {
    const r = new ParentResidual('/p', 5_000n, 100);
    r.adopt('old', 4_000n); // 4000 of its usage predates the baseline
    r.childPublished('old', 50, 4_000n);
    r.childPublished('old', 111, 4_500n);
    assert.equal(r.residualAt(5_600n, 110), 100n);
  });
});
