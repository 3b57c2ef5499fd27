import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { type SampleEvent, decodeSample } from '@metering/contracts';
import { localInfra, uniqueName } from '@metering/testing';

/**
 * A fresh topic on the real broker and a consumer collecting what arrives on it, decoded with
 * the contract's decoder (anything invalid is kept in `rejected`). close() deletes the topic.
 */
export class SampleTopic {
  readonly samples: SampleEvent[] = [];
  readonly rejected: string[] = [];

  private constructor(
    readonly topic: string,
    private readonly kafka: Kafka,
    private readonly consumer: Consumer,
  ) {}

  static async create(
    prefix: string,
    options: { brokers?: readonly string[]; partitions?: number; consume?: boolean } = {},
  ): Promise<SampleTopic> {
    const topic = uniqueName(prefix);
    const kafka = new Kafka({
      clientId: 'docker-collector-test',
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
    if (options.consume ?? true) await sampleTopic.consume();
    return sampleTopic;
  }

  /** Starts collecting, from the beginning of the topic (create() does unless told not to). */
  async consume(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      eachMessage: ({ message }) => {
        const decoded = decodeSample(message.value);
        if (!decoded.ok) {
          this.rejected.push(decoded.reason.message);
        } else if (message.key?.toString() !== decoded.value.resource.id) {
          this.rejected.push(`key ${message.key?.toString()} is not the resource id`);
        } else {
          this.samples.push(decoded.value);
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
