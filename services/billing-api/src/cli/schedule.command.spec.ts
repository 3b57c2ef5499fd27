import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ScheduleStatus } from '../schedule/schedule-status.service';
import { scheduleLines } from './schedule.command';

const base: ScheduleStatus = {
  enabled: true,
  intervalMs: 300_000,
  graceMs: 172_800_000,
  lookbackMonths: 2,
  fromPeriod: null,
  next: { period: '2026-11', phase: 'due', closableFrom: '2026-12-03T00:00:00.000Z' },
  lastRun: null,
};

test('schedule: settings, the next month by its phase, no run yet', () => {
  assert.deepEqual(scheduleLines(base), [
    'scheduled close: on in this environment (SCHEDULED_CLOSE), every 5 min',
    'grace: 2 d after a month ends in the last tenant zone; looks back 2 months',
    'next: 2026-11, due now: the next run closes it (closable since 2026-12-03T00:00:00.000Z)',
    'last run: none recorded',
  ]);
  const later = scheduleLines({
    ...base,
    enabled: false,
    intervalMs: 1500,
    fromPeriod: '2026-01',
    next: { period: '2026-12', phase: 'in-grace', closableFrom: '2027-01-03T00:00:00.000Z' },
  });
  assert.equal(later[0], 'scheduled close: off in this environment (SCHEDULED_CLOSE), every 1.5 s');
  assert.match(later[1]!, /, none before 2026-01$/);
  assert.equal(
    later[2],
    'next: 2026-12, ended, in its grace: closes from 2027-01-03T00:00:00.000Z',
  );
  assert.equal(
    scheduleLines({ ...base, next: null })[2],
    'next: none (SCHEDULED_CLOSE_FROM is after this month)',
  );
});

test('schedule: the last run, failed, with its error escaped', () => {
  const lines = scheduleLines({
    ...base,
    lastRun: {
      period: '2026-10',
      status: 'failed',
      startedBy: 'schedule',
      instance: 'pod-a:1',
      attempts: 3,
      startedAt: '2026-11-03T00:05:00.000Z',
      finishedAt: '2026-11-03T00:05:02.000Z',
      result: null,
      error: 'INTERNAL: connection refused\u001b[2J',
    },
  });
  assert.deepEqual(lines.slice(3), [
    'last run: 2026-10 failed, finished 2026-11-03T00:05:02.000Z, by the schedule on pod-a:1 (attempt 3)',
    '  error: INTERNAL: connection refused\\u001b[2J',
  ]);
});
