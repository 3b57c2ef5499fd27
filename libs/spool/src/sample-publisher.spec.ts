import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@metering/testing';
import { capturedLogger, sampleOf, testLogger, withTempDir } from '../test/spool.fixtures';
import { SpooledSamplePublisher } from './sample-publisher';
import { type SpoolMessage, type SpoolProducer } from './spool-producer';
import { SpooledPublisher } from './spooled-publisher';

/** A Kafka stand-in that acknowledges everything. */
class AckingProducer implements SpoolProducer {
  readonly acknowledged: SpoolMessage[] = [];
  connect(): Promise<void> {
    return Promise.resolve();
  }
  send(_topic: string, messages: readonly SpoolMessage[]): Promise<void> {
    this.acknowledged.push(...messages);
    return Promise.resolve();
  }
  disconnect(): Promise<void> {
    return Promise.resolve();
  }
}

function spoolIn(dir: string, producer: SpoolProducer): Promise<SpooledPublisher> {
  return SpooledPublisher.start({
    dir,
    producer: () => producer,
    logger: testLogger(),
    settings: { lingerMs: 5, backoffInitialMs: 5, backoffMaxMs: 20 },
  });
}

describe('SpooledSamplePublisher', () => {
  test('hands samples to the spool, which forwards them; flush waits for the acknowledgement', () =>
    withTempDir(async (dir) => {
      const kafka = new AckingProducer();
      const publisher = new SpooledSamplePublisher(await spoolIn(dir, kafka));
      publisher.publish(sampleOf('c1', 0, 'start'));
      publisher.publish(sampleOf('c1', 1, 'running'));
      assert.equal(await publisher.flush(5_000), true);
      assert.equal(kafka.acknowledged.length, 2);
      assert.equal(publisher.depth(), 0);
      assert.equal((await publisher.healthIndicator()()).status, 'up');
      assert.equal((await publisher.livenessIndicator()()).status, 'up');
      await publisher.close(1_000);
      assert.equal((await publisher.healthIndicator()()).status, 'down');
    }));

  test('the topic is ensured until it succeeds, the first failure logged', () =>
    withTempDir(async (dir) => {
      const { logger, lines } = capturedLogger();
      let calls = 0;
      const publisher = new SpooledSamplePublisher(await spoolIn(dir, new AckingProducer()), {
        logger,
        retryMs: 5,
        ensureTopic: () => {
          calls += 1;
          return calls < 3 ? Promise.reject(new Error('broker away')) : Promise.resolve();
        },
      });
      await waitFor(() => calls >= 3 || undefined, { timeoutMs: 5_000, intervalMs: 5 });
      await publisher.close(1_000);
      assert.equal(calls, 3, 'no call after the one that succeeded');
      const warned = lines.filter(
        (l) => l['msg'] === 'cannot ensure the samples topic yet; retrying',
      );
      assert.deepEqual(
        warned.map((l) => l['attempt']),
        [1],
      );
    }));

  test('close stops ensuring the topic at once', () =>
    withTempDir(async (dir) => {
      let calls = 0;
      const publisher = new SpooledSamplePublisher(await spoolIn(dir, new AckingProducer()), {
        retryMs: 60_000,
        ensureTopic: () => {
          calls += 1;
          return Promise.reject(new Error('broker away'));
        },
      });
      const started = Date.now();
      await publisher.close(1_000);
      assert.ok(Date.now() - started < 5_000, 'not waiting out the retry');
      assert.equal(calls, 1);
    }));
});
