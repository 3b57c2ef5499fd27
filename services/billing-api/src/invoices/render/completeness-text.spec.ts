import { test } from 'node:test';
import assert from 'node:assert/strict';
import { completenessText, duration } from './completeness-text';

const pct = (r: string): string => `${(Number(r) * 100).toFixed(2)} %`;

test('counted samples: the figure, the counts, thinned and the gaps by cause', () => {
  assert.equal(
    completenessText(
      {
        observedMs: '3600000',
        gapMs: '420000',
        inferredGapMs: '7500000',
        samplesExpected: '1000',
        samplesObserved: '950',
        samplesThinned: '12',
        ratio: '0.9500',
      },
      pct,
    ),
    'Data completeness: 95.00 % of expected samples present (950 of 1000). ' +
      "12 thinned by a collector's spool while Kafka was away (their CPU is counted). " +
      'Gaps, not billed as usage: 7 min 00 s of silence between samples; 2 h 05 min unseen after ' +
      'resources ended while their collector was down (the end is inferred from the last reading).',
  );
});

test('time-based (no declared interval, or an invoice stored before the counts) and empty', () => {
  assert.equal(
    completenessText({ observedMs: '1000', gapMs: '0', ratio: '1.0000' }, pct),
    'Data completeness: 100.00 % of metered time observed. No gaps.',
  );
  assert.equal(
    completenessText({ observedMs: '0', gapMs: '0', ratio: null }, pct),
    'Data completeness: no metered time in this period.',
  );
});

test('durations for people', () => {
  assert.deepEqual(
    [0n, 400n, 59_999n, 60_000n, 3_599_999n, 3_600_000n, 90_061_000n].map(duration),
    ['0.0 s', '0.4 s', '59 s', '1 min 00 s', '59 min 59 s', '1 h 00 min', '25 h 01 min'],
  );
});
