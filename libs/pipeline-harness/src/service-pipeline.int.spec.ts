import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@metering/testing';
import { ServicePipeline } from './service-pipeline';

// The harness against a real service (billing-api, the quickest to start): a service that dies
// mid-test is named by the pipeline's queries with its signal and its log's end; one killed on
// purpose is not.
const pipeline = new ServicePipeline('harness_exit');

before(async () => {
  await pipeline.prepare(1);
  await pipeline.startBillingApi();
});

after(() => pipeline.stop());

test('a service killed on purpose (kill) is not reported; one that dies behind the harness is, by its queries', async () => {
  pipeline.kill('billing-api', 'SIGTERM');
  await waitFor(async () => (await fetch(pipeline.billingUrl).catch(() => null)) === null, {
    timeoutMs: 20_000,
    description: 'billing-api to stop',
  });
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(pipeline.exits.length, 0, 'an exit on purpose is not reported');
  assert.deepEqual(await pipeline.sql<{ one: number }>('SELECT 1 AS one'), [{ one: 1 }]);

  await pipeline.stopService('billing-api');
  await pipeline.startBillingApi();
  const pid = pipeline.pid('billing-api');
  assert.ok(pid !== undefined);
  process.kill(pid, 'SIGKILL');
  await waitFor(() => pipeline.exits.length > 0, {
    timeoutMs: 10_000,
    description: 'the exit reported',
  });
  const [exit] = pipeline.exits;
  assert.equal(exit!.name, 'billing-api');
  assert.equal(exit!.signal, 'SIGKILL');
  assert.ok(exit!.tail.length > 0, 'the end of its log is quoted');
  await assert.rejects(
    pipeline.sql('SELECT 1'),
    /billing-api exited while running \(signal SIGKILL\); the end of .*billing-api\.log/,
  );
  await assert.rejects(pipeline.metrics('billing-api'), /billing-api exited while running/);
  assert.throws(() => pipeline.assertRunning(), /signal SIGKILL/);
});
