import { type SampleEvent } from '@metering/contracts';
import { KafkaClientFactory } from '@metering/kafka';
import {
  type HealthIndicatorResult,
  type Logger,
  type MetricsRegistry,
} from '@metering/observability';
import { hostSigner, kafkaSpoolProducer, SpooledPublisher } from '@metering/spool';
import { type VmCollectorConfig } from '../config';
import { type SamplePublisher } from './sample.publisher';

/**
 * The SamplePublisher of @metering/spool: publish() appends to a bounded on-disk spool
 * (it survives a collector restart) and one forwarder sends it to Kafka in order, acks=all,
 * key = resource id. When the spool is full, the oldest `running` samples are thinned,
 * never `start` or `final` ones.
 */
export class SpooledSamplePublisher implements SamplePublisher {
  constructor(private readonly spool: SpooledPublisher) {}

  publish(sample: SampleEvent): void {
    this.spool.publish(sample);
  }

  flush(timeoutMs: number): Promise<boolean> {
    return this.spool.flush(timeoutMs);
  }

  close(timeoutMs: number): Promise<void> {
    return this.spool.close(timeoutMs);
  }

  depth(): number {
    return this.spool.depth();
  }

  /** `degraded` (Kafka away, samples spooling) reports as up, with the detail. */
  health(): Promise<HealthIndicatorResult> {
    return this.spool.healthIndicator()();
  }

  liveness(): Promise<HealthIndicatorResult> {
    return this.spool.livenessIndicator()();
  }
}

/** Opens the spool (resuming what a previous run left) and starts forwarding to Kafka. */
export async function startSamplePublisher(
  config: VmCollectorConfig,
  deps: { logger: Logger; metrics: MetricsRegistry },
): Promise<SamplePublisher> {
  const kafka = new KafkaClientFactory(config.kafka, deps);
  const spool = await SpooledPublisher.start({
    dir: config.spool.dir,
    producer: kafkaSpoolProducer(kafka, { maxBatchRecords: config.spool.settings.maxBatchRecords }),
    topic: config.topic,
    settings: config.spool.settings,
    logger: deps.logger,
    metrics: deps.metrics,
    ...(config.hostKey === null ? {} : { sign: hostSigner(config.hostKey, deps.logger) }),
  });
  return new SpooledSamplePublisher(spool);
}
