import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  type ContinuityInput,
  type ContinuityVerdict,
  continuesAt,
  decideContinuity,
} from './offset-continuity';

const FP = 'aa'.repeat(32);
const OTHER = 'bb'.repeat(32);

const base: ContinuityInput = {
  stored: 100n,
  logStart: 0n,
  logEnd: 150n,
  storedFingerprint: FP,
  found: 'unread',
};

const cases: { name: string; input: Partial<ContinuityInput>; verdict: ContinuityVerdict }[] = [
  {
    name: 'no stored position: nothing to compare',
    input: { stored: null },
    verdict: { kind: 'ok', from: null, verified: false },
  },
  {
    name: 'no stored position on an empty log',
    input: { stored: null, logEnd: 0n, storedFingerprint: null },
    verdict: { kind: 'ok', from: null, verified: false },
  },
  {
    name: 'within the log, fingerprint not read yet: read stored - 1',
    input: {},
    verdict: { kind: 'verify', at: 99n },
  },
  {
    name: 'same message at stored - 1: the same log',
    input: { found: { fingerprint: FP } },
    verdict: { kind: 'ok', from: 100n, verified: true },
  },
  {
    name: 'another message at stored - 1: another topic under the same name',
    input: { found: { fingerprint: OTHER } },
    verdict: { kind: 'stop', reason: 'topic_changed', lost: 0n },
  },
  {
    name: 'no message at stored - 1 any more (read raced the log): topic changed',
    input: { found: { fingerprint: null } },
    verdict: { kind: 'stop', reason: 'topic_changed', lost: 0n },
  },
  {
    name: 'stored at the log end exactly (caught up): verify the last message',
    input: { stored: 150n },
    verdict: { kind: 'verify', at: 149n },
  },
  {
    name: 'stored one past the log end: discontinuity',
    input: { stored: 151n },
    verdict: { kind: 'stop', reason: 'offset_beyond_end', lost: 0n },
  },
  {
    name: 'a recreated, empty topic behind a position: discontinuity',
    input: { stored: 123n, logStart: 0n, logEnd: 0n },
    verdict: { kind: 'stop', reason: 'offset_beyond_end', lost: 0n },
  },
  {
    name: 'beyond the end wins over a missing fingerprint',
    input: { stored: 151n, storedFingerprint: null },
    verdict: { kind: 'stop', reason: 'offset_beyond_end', lost: 0n },
  },
  {
    name: 'log start past the stored offset: the difference was lost to retention',
    input: { stored: 100n, logStart: 130n },
    verdict: { kind: 'stop', reason: 'retention_gap', lost: 30n },
  },
  {
    name: 'log start one past stored: one message lost',
    input: { stored: 100n, logStart: 101n, logEnd: 101n },
    verdict: { kind: 'stop', reason: 'retention_gap', lost: 1n },
  },
  {
    name: 'log start exactly at stored: nothing lost, stored - 1 gone, unverifiable',
    input: { stored: 100n, logStart: 100n },
    verdict: { kind: 'ok', from: 100n, verified: false },
  },
  {
    name: 'no fingerprint recorded (older rows, operator decision): resume unverified',
    input: { storedFingerprint: null },
    verdict: { kind: 'ok', from: 100n, verified: false },
  },
  {
    name: 'stored 0 (nothing consumed yet) on an empty log',
    input: { stored: 0n, logEnd: 0n, storedFingerprint: null },
    verdict: { kind: 'ok', from: 0n, verified: false },
  },
  {
    name: 'stored 0 on a log whose start moved: all before it lost',
    input: { stored: 0n, logStart: 7n, logEnd: 9n, storedFingerprint: null },
    verdict: { kind: 'stop', reason: 'retention_gap', lost: 7n },
  },
  {
    name: 'offsets past 2^53 stay exact',
    input: {
      stored: 9_007_199_254_740_993n,
      logStart: 9_007_199_254_740_999n,
      logEnd: 9_007_199_254_741_000n,
    },
    verdict: { kind: 'stop', reason: 'retention_gap', lost: 6n },
  },
];

for (const { name, input, verdict } of cases) {
  test(`decideContinuity: ${name}`, () => {
    assert.deepEqual(decideContinuity({ ...base, ...input }), verdict);
  });
}

test('decideContinuity refuses impossible watermarks and negative positions', () => {
  assert.throws(() => decideContinuity({ ...base, logStart: 10n, logEnd: 9n }), RangeError);
  assert.throws(() => decideContinuity({ ...base, logStart: -1n }), RangeError);
  assert.throws(() => decideContinuity({ ...base, stored: -1n }), RangeError);
});

test('decideContinuity: never "ok" unless the stored offset lies within [log start, log end]', () => {
  const offset = fc.bigInt({ min: 0n, max: 1n << 62n });
  fc.assert(
    fc.property(
      offset,
      offset,
      offset,
      fc.option(fc.constantFrom(FP, OTHER)),
      fc.constantFrom<ContinuityInput['found']>(
        'unread',
        { fingerprint: null },
        { fingerprint: FP },
        { fingerprint: OTHER },
      ),
      (stored, a, b, storedFingerprint, found) => {
        const [logStart, logEnd] = a <= b ? [a, b] : [b, a];
        const verdict = decideContinuity({ stored, logStart, logEnd, storedFingerprint, found });
        const within = stored >= logStart && stored <= logEnd;
        switch (verdict.kind) {
          case 'ok':
            assert.ok(within);
            assert.equal(verdict.from, stored);
            // Verified only by the very fingerprint recorded.
            if (verdict.verified)
              assert.equal(found !== 'unread' && found.fingerprint, storedFingerprint);
            break;
          case 'verify':
            assert.ok(within);
            assert.equal(verdict.at, stored - 1n);
            break;
          case 'stop':
            assert.ok(!within || (found !== 'unread' && found.fingerprint !== storedFingerprint));
            assert.equal(verdict.lost, verdict.reason === 'retention_gap' ? logStart - stored : 0n);
            break;
        }
      },
    ),
  );
});

test('continuesAt: a batch continues only at the expected offset', () => {
  assert.equal(continuesAt(null, 0n), true);
  assert.equal(continuesAt(null, 12n), true);
  assert.equal(continuesAt(12n, 12n), true);
  assert.equal(continuesAt(12n, 0n), false, 'reset back to the log start');
  assert.equal(continuesAt(12n, 40n), false, 'jumped ahead (log start moved)');
});
