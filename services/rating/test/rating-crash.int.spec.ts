import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RatingWorld } from './rating-harness';

// A consumer that stops for good (a programming error kafkajs does not retry) ends rating the
// way SIGTERM does — Nest's app.close(), the whole stop order, the ledger last — and the process
// exits 1 for its supervisor to start it again (ADR 0015: nothing sends the process a signal).
const crashingProcessor = join(__dirname, '..', '..', 'test', 'fixtures', 'crashing-processor.js');

const world = new RatingWorld();

after(async () => {
  await world.tearDown();
});

test('a consumer crash closes the application in its stop order and exits 1', async () => {
  await world.setUp(1, { acme: 'UTC' });
  await world.produce(['not even a sample'], () => 'acme');
  const rating = world.startRating('crash', { NODE_OPTIONS: `--require ${crashingProcessor}` });
  const out: Buffer[] = [];
  rating.stdout?.on('data', (c: Buffer) => out.push(c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    rating.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const timeout = setTimeout(() => rating.kill('SIGKILL'), 90_000);
  const { code, signal } = await exited;
  clearTimeout(timeout);

  assert.deepEqual({ code, signal }, { code: 1, signal: null });
  const messages = Buffer.concat(out)
    .toString()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => (JSON.parse(line) as { msg?: string }).msg);
  const crashed = messages.indexOf('consumer stopped for good; exiting to be restarted');
  assert.ok(crashed >= 0, 'the crash is logged at fatal');
  assert.ok(messages.indexOf('rating stopped') > crashed, 'then the stop order ran to its end');
});
