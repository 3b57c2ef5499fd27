import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PeriodicTask } from './periodic-task';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('runs at once, then again after each run; never two at once; an error does not stop it', async () => {
  let active = 0;
  let most = 0;
  let runs = 0;
  const errors: unknown[] = [];
  const task = new PeriodicTask(
    async () => {
      active += 1;
      most = Math.max(most, active);
      runs += 1;
      await sleep(15);
      active -= 1;
      if (runs === 2) throw new Error('boom');
    },
    5,
    (error) => errors.push(error),
  );
  task.start();
  await sleep(150);
  await task.stop();
  const after = runs;
  await sleep(50);
  assert.ok(runs >= 3, `${runs} runs`);
  assert.equal(most, 1);
  assert.equal(errors.length, 1);
  assert.equal(runs, after, 'nothing runs after stop()');
  assert.equal(task.isStopped, true);
});

test('stop() waits for the run under way', async () => {
  let finished = false;
  const task = new PeriodicTask(
    async () => {
      await sleep(40);
      finished = true;
    },
    1_000,
    () => undefined,
  );
  task.start();
  await sleep(10);
  await task.stop();
  assert.equal(finished, true);
});
