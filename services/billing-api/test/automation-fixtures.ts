import { type Consumer } from 'kafkajs';
import { decodeInvoiceEvent, type InvoiceEvent } from '@metering/contracts';
import { KafkaClientFactory } from '@metering/kafka';
import { createRootLogger } from '@metering/observability';
import { localInfra, uniqueName } from '@metering/testing';

/** Every record of a topic from its beginning, decoded as invoice events, as they arrive. */
export class InvoiceEventCollector {
  readonly events: InvoiceEvent[] = [];
  readonly keys: string[] = [];
  /** Records the decoder refused (must stay empty). */
  readonly rejected: string[] = [];
  private consumer: Consumer | null = null;

  constructor(readonly topic: string) {}

  async start(): Promise<this> {
    const factory = new KafkaClientFactory(
      {
        brokers: localInfra.kafkaBrokers,
        clientId: uniqueName('events-reader').replace(/_/g, '-'),
      },
      { logger: createRootLogger({ serviceName: 'events-test', level: 'warn' }) },
    );
    await factory.ensureTopics([{ topic: this.topic, numPartitions: 3 }]);
    this.consumer = factory.kafka.consumer({ groupId: uniqueName('events_reader') });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      eachMessage: ({ message }) => {
        const decoded = decodeInvoiceEvent(message.value);
        if (decoded.ok) {
          this.events.push(decoded.value);
          this.keys.push(message.key?.toString('utf8') ?? '');
        } else this.rejected.push(decoded.reason.message);
        return Promise.resolve();
      },
    });
    return this;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }

  ofType(type: InvoiceEvent['type']): InvoiceEvent[] {
    return this.events.filter((e) => e.type === type);
  }
}
