import { encodeSample, type SampleEvent, sampleKey } from '@metering/contracts';
import { type KafkaProducer } from '@metering/kafka';
import { type Logger } from '@metering/observability';
import { type SamplePublisher } from './sample.publisher';

/**
 * Straight to Kafka through @metering/kafka's producer (idempotent, acks=all, batched, one
 * request in flight: per-key order). Not durable: while Kafka is down, samples wait in
 * memory and a failed batch is lost. The stand-in until the spool is wired
 * (SpooledSamplePublisher); also the benchmark's baseline.
 */
export class KafkaSamplePublisher implements SamplePublisher {
  private inflight = 0;
  private settled: Promise<void> = Promise.resolve();

  constructor(
    private readonly producer: KafkaProducer,
    private readonly topic: string,
    private readonly logger: Logger,
  ) {}

  publish(sample: SampleEvent): void {
    const message = { key: sampleKey(sample), value: encodeSample(sample) };
    this.inflight += 1;
    const sent = this.producer
      .send(this.topic, [message])
      .catch((error: unknown) => {
        this.logger.error({ err: error, resourceId: sample.resource.id }, 'a sample was lost');
      })
      .finally(() => {
        this.inflight -= 1;
      });
    this.settled = Promise.all([this.settled, sent]).then(() => undefined);
  }

  async flush(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    try {
      await Promise.race([this.producer.flush().then(() => this.settled), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    return this.producer.disconnect();
  }

  depth(): number {
    return this.inflight;
  }
}
