import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { type SampleEvent, decodeSample } from '@metering/contracts';
import { localInfra } from './local-infra';
import { uniqueName } from './unique-name';

/**
 * A fresh `metering.samples.v1`-shaped topic on a real broker and a consumer collecting what
 * arrives on it, decoded with the contract's decoder. Whatever does not decode, or is not keyed
 * by its resource id (per-resource order), is kept in `rejected` with the reason: collector
 * specs assert it stays empty. close() deletes the topic.
 */
export class SampleTopic {
  readonly samples: SampleEvent[] = [];
  /** Anything that did not decode or was keyed wrongly, with the reason. */
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
      clientId: `${prefix}-test`,
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

  /** Starts collecting, from the beginning of the topic (create() does unless told not to). */
  async startConsuming(): Promise<void> {
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

  /** The samples of one resource, in arrival order. */
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
