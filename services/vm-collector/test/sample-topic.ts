import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { type SampleEvent, decodeSample } from '@metering/contracts';
import { localInfra, uniqueName } from '@metering/testing';

/**
 * A fresh topic on the real broker and a consumer collecting what arrives on it, decoded
 * with the contract's decoder (an invalid sample fails the test). Deleted by close().
 */
export class SampleTopic {
  readonly samples: SampleEvent[] = [];
  /** Anything that did not decode, with the reason. */
  readonly rejected: string[] = [];

  private constructor(
    readonly topic: string,
    private readonly kafka: Kafka,
    private readonly consumer: Consumer,
  ) {}

  /**
   * The topic, and a consumer reading it from the beginning unless `consume` is false (then
   * call startConsuming(), e.g. once a broker that was stopped is back).
   */
  static async create(
    prefix: string,
    options: { brokers?: readonly string[]; partitions?: number; consume?: boolean } = {},
  ): Promise<SampleTopic> {
    const topic = uniqueName(prefix);
    const kafka = new Kafka({
      clientId: 'vm-collector-test',
      brokers: [...(options.brokers ?? localInfra.kafkaBrokers)],
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: options.partitions ?? 3 }],
      });
    } finally {
      await admin.disconnect();
    }
    const consumer = kafka.consumer({ groupId: uniqueName(`${prefix}_group`) });
    const sampleTopic = new SampleTopic(topic, kafka, consumer);
    if (options.consume ?? true) await sampleTopic.startConsuming();
    return sampleTopic;
  }

  async startConsuming(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      eachMessage: ({ message }) => {
        const decoded = decodeSample(message.value);
        if (decoded.ok) {
          // Kafka key = resource id: per-resource order.
          if (message.key?.toString() !== decoded.value.resource.id) {
            this.rejected.push(`key ${message.key?.toString()} is not the resource id`);
          }
          this.samples.push(decoded.value);
        } else {
          this.rejected.push(decoded.reason.message);
        }
        return Promise.resolve();
      },
    });
  }

  of(resourceId: string): SampleEvent[] {
    return this.samples.filter((s) => s.resource.id === resourceId);
  }

  async close(): Promise<void> {
    await this.consumer.disconnect().catch(() => undefined);
    const admin = this.kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [this.topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}
