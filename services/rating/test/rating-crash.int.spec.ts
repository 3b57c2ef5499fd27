import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from '@metering/testing';
import { RatingWorld } from './rating-harness';

// A consumer that stops for good (a programming error kafkajs does not retry) ends rating the
// way SIGTERM does — Nest's app.close(), the whole stop order, the ledger last — and the process
// exits 1 for its supervisor to start it again (ADR 0015: nothing sends the process a signal).
const crashingProcessor = join(__dirname, '..', '..', 'test', 'fixtures', 'crashing-processor.js');

const world = new RatingWorld();

after(async () => {
  await world.tearDown();
});

/** Runs until the process ends (SIGKILL after 90 s); its exit and the messages it logged. */
async function untilExit(
  rating: ChildProcess,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; messages: string[] }> {
  const out: Buffer[] = [];
  rating.stdout?.on('data', (c: Buffer) => out.push(c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    rating.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const timeout = setTimeout(() => rating.kill('SIGKILL'), 90_000);
  const { code, signal } = await exited;
  clearTimeout(timeout);
  const messages = Buffer.concat(out)
    .toString()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => (JSON.parse(line) as { msg?: string }).msg ?? '');
  return { code, signal, messages };
}

test('a consumer crash closes the application in its stop order and exits 1', async () => {
  await world.setUp(1, { acme: 'UTC' });
  await world.produce(['not even a sample'], () => 'acme');
  const rating = world.startRating('crash', { NODE_OPTIONS: `--require ${crashingProcessor}` });
  const { code, signal, messages } = await untilExit(rating);

  assert.deepEqual({ code, signal }, { code: 1, signal: null });
  const crashed = messages.indexOf('consumer stopped for good; exiting to be restarted');
  assert.ok(crashed >= 0, 'the crash is logged at fatal');
  assert.ok(messages.indexOf('rating stopped') > crashed, 'then the stop order ran to its end');
});

test('SIGTERM runs the same stop order, to its end', async () => {
  const rating = world.startRating('sigterm');
  const out: Buffer[] = [];
  rating.stdout?.on('data', (c: Buffer) => out.push(c));
  await waitFor(() => Buffer.concat(out).toString().includes('"msg":"rating listening"'), {
    timeoutMs: 60_000,
    description: 'rating listening',
  });
  const ended = untilExit(rating);
  rating.kill('SIGTERM');
  const { signal, messages } = await ended;

  assert.equal(signal, 'SIGTERM');
  assert.ok(messages.includes('rating stopped'), 'the stop order ran to its end');
  assert.ok(!messages.includes('consumer stopped for good; exiting to be restarted'));
});
