import { setTimeout as sleep } from 'node:timers/promises';
import { type SampleEvent } from '@metering/contracts';
import { type HealthIndicator, type Logger } from '@metering/observability';
import { type SpooledPublisher } from '@metering/spool';
import { type SamplePublisher } from './sample.publisher';

/**
 * The SamplePublisher of @metering/spool: publish() validates, encodes and queues (never
 * waits for Kafka or the disk); a bounded on-disk spool that survives restarts; one
 * forwarder sending to Kafka in order, acks=all, key = resource id. When the spool is full
 * the oldest `running` samples are thinned, never `start` or `final` ones.
 *
 * Also keeps trying to create the samples topic (its producer never creates topics) until it
 * exists, so a collector started while Kafka is down needs nothing done when Kafka comes.
 */
export class SpooledSamplePublisher implements SamplePublisher {
  private readonly stop = new AbortController();
  private readonly topicReady: Promise<void>;

  constructor(
    private readonly spool: SpooledPublisher,
    ensureTopic: () => Promise<unknown>,
    logger: Logger,
    retryMs = 10_000,
  ) {
    this.topicReady = (async () => {
      for (let attempt = 1; !this.stop.signal.aborted; attempt += 1) {
        try {
          await ensureTopic();
          return;
        } catch (error) {
          if (attempt === 1 || attempt % 10 === 0) {
            logger.warn({ err: error, attempt }, 'cannot ensure the samples topic yet; retrying');
          }
        }
        await sleep(retryMs, undefined, { signal: this.stop.signal }).catch(() => undefined);
      }
    })();
  }

  publish(sample: SampleEvent): void {
    this.spool.publish(sample);
  }

  flush(timeoutMs: number): Promise<boolean> {
    return this.spool.flush(timeoutMs);
  }

  async close(timeoutMs: number): Promise<void> {
    this.stop.abort();
    await this.topicReady;
    await this.spool.close(timeoutMs);
  }

  depth(): number {
    return this.spool.depth();
  }

  healthIndicator(): HealthIndicator {
    return this.spool.healthIndicator();
  }

  livenessIndicator(): HealthIndicator {
    return this.spool.livenessIndicator();
  }
}
