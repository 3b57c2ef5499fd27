import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideContinuity } from '../domain/offset-continuity';
import { offsetsCommand } from './offsets.command';
import { type OffsetsAction, type PartitionView, planAction } from './offsets.plan';

function view(
  stored: bigint | null,
  logStart: bigint,
  logEnd: bigint,
  found?: string,
): PartitionView {
  const verdict = decideContinuity({
    stored,
    logStart,
    logEnd,
    storedFingerprint: found === undefined ? null : 'aa',
    found: found === undefined ? 'unread' : { fingerprint: found },
  });
  return { partition: 2, stored, logStart, logEnd, fingerprint: 'not needed', verdict };
}

const cases: {
  name: string;
  view: PartitionView;
  action: OffsetsAction;
  expect: ReturnType<typeof planAction>;
}[] = [
  {
    name: 'beyond the end: reset to the log start, everything there rated',
    view: view(500n, 0n, 60n),
    action: 'reset_to_start',
    expect: {
      partition: 2,
      eligible: true,
      reason: 'offset_beyond_end',
      newOffset: 0n,
      toRate: 60n,
      lost: 0n,
    },
  },
  {
    name: 'another topic (fingerprint differs): reset to its log start (not 0)',
    view: view(20n, 5n, 45n, 'bb'),
    action: 'reset_to_start',
    expect: {
      partition: 2,
      eligible: true,
      reason: 'topic_changed',
      newOffset: 5n,
      toRate: 40n,
      lost: 0n,
    },
  },
  {
    name: 'retention gap: accept it, the lost messages counted',
    view: view(60n, 70n, 120n),
    action: 'accept_gap',
    expect: {
      partition: 2,
      eligible: true,
      reason: 'retention_gap',
      newOffset: 70n,
      toRate: 50n,
      lost: 10n,
    },
  },
  {
    name: 'accept-gap refused on a topic that changed',
    view: view(500n, 0n, 60n),
    action: 'accept_gap',
    expect: {
      partition: 2,
      eligible: false,
      why: 'offset_beyond_end: not a retention gap (use --reset-to-start)',
    },
  },
  {
    name: 'reset refused on a retention gap (it would hide the loss)',
    view: view(60n, 70n, 120n),
    action: 'reset_to_start',
    expect: {
      partition: 2,
      eligible: false,
      why: 'retention_gap: the same topic with messages lost (use --accept-gap)',
    },
  },
  {
    name: 'a partition in line is never moved',
    view: view(20n, 0n, 45n, 'aa'),
    action: 'reset_to_start',
    expect: { partition: 2, eligible: false, why: 'in line with the topic: nothing to decide' },
  },
  {
    name: 'nor one whose fingerprint was not checked',
    view: view(20n, 0n, 45n),
    action: 'reset_to_start',
    expect: { partition: 2, eligible: false, why: 'in line with the topic: nothing to decide' },
  },
];

for (const c of cases) {
  test(`planAction: ${c.name}`, () => {
    assert.deepEqual(planAction(c.view, c.action), c.expect);
  });
}

test('planAction: a fingerprint still to read is never acted on', () => {
  const unread: PartitionView = { ...view(20n, 0n, 45n), verdict: { kind: 'verify', at: 19n } };
  assert.equal(planAction(unread, 'reset_to_start').eligible, false);
  assert.equal(planAction(unread, 'accept_gap').eligible, false);
});

// Arguments are refused (exit 2) before any setting is read or anything is connected to.
const badArguments: string[][] = [
  ['--reset-to-start', '--accept-gap'],
  ['status', '--accept-gap'],
  ['--partition', '-1'],
  ['--partition', '1.5'],
  ['--partition', '01'],
  ['--partition', '99999999999'],
  ['--partition', 'NaN'],
  ['--partition', '1\u0000'],
  ['--partition', '١'],
  ['--topic', 'a b'],
  ['--topic', 'métering'],
  ['--topic', 'x\u0000y'],
  ['--topic', 'x'.repeat(250)],
  ['--topic', ''],
  ['drop'],
  ['status', 'extra'],
  ['--yes=please'],
  ['--unknown'],
];

for (const args of badArguments) {
  test(`offsets ${JSON.stringify(args).slice(0, 60)}: bad arguments, exit 2`, async () => {
    const errors: string[] = [];
    const original = console.error;
    console.error = (...parts: unknown[]) => void errors.push(parts.join(' '));
    try {
      assert.equal(await offsetsCommand(args), 2);
    } finally {
      console.error = original;
    }
    assert.match(errors.join('\n'), /usage:/);
  });
}
