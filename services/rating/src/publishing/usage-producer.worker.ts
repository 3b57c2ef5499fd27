import { parentPort, workerData } from 'node:worker_threads';
// The producer entry and the loggers alone: the packages' indexes would load the consumer, the
// contracts' zod schemas, Nest and prom-client into this thread's isolate (26 MB of RSS).
import {
  CompressionTypes,
  type KafkaProducer,
  type OutgoingMessage,
  producerMaker,
} from '@metering/kafka/producer';
import { createRootLogger } from '@metering/observability/logging';
import {
  type UsageProducerReply,
  type UsageProducerRequest,
  type UsageProducerSettings,
} from './usage-producer.protocol';

/**
 * The usage producer thread: a kafkajs producer (libs/kafka, idempotent, acks=all) for the
 * billing.usage.v1 events, on its own thread. Encoding a Kafka record costs about as much as
 * rating the sample it came from; here it runs beside the rating, on the machine's other core.
 */
async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('usage-producer.worker must run as a worker thread');
  const settings = workerData as UsageProducerSettings;
  const reply = (m: UsageProducerReply): void => port.postMessage(m);
  const logger = createRootLogger({ serviceName: 'rating', level: settings.logLevel });
  const makeProducer = producerMaker(settings.kafka, logger);
  const newProducer = (): KafkaProducer =>
    makeProducer({
      // One send() per request: the producer would otherwise merge the byte-bounded chunks
      // below into requests whose record batches exceed the broker's limit.
      maxBatchSize: 1,
      compression: settings.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
    });
  const producers = Array.from({ length: settings.producers }, newProducer);
  try {
    await Promise.all(producers.map((p) => p.connect()));
  } catch (error) {
    reply({ type: 'fatal', message: error instanceof Error ? error.message : String(error) });
    return;
  }

  // Each producer (idempotent, one request in flight) sends one tenant group's events in order;
  // several of them keep encoding, compression and the broker busy at the same time.
  const send = async (keys: string[], values: string[]): Promise<void> => {
    const groups = producers.map((): OutgoingMessage[][] => [[]]);
    const sizes = producers.map(() => 0);
    for (let i = 0; i < values.length; i++) {
      const key = keys[i]!;
      const value = Buffer.from(values[i]!, 'utf8');
      const g = producers.length === 1 ? 0 : groupOf(key, producers.length);
      const chunks = groups[g]!;
      if (
        sizes[g]! + value.length > settings.requestMaxBytes &&
        chunks[chunks.length - 1]!.length > 0
      ) {
        chunks.push([]);
        sizes[g] = 0;
      }
      chunks[chunks.length - 1]!.push({ key, value });
      sizes[g]! += value.length;
    }
    await Promise.all(
      groups.map(async (chunks, g) => {
        for (const chunk of chunks) if (chunk.length > 0) await sendChunk(g, chunk);
      }),
    );
  };

  // A failed request leaves an idempotent producer's sequence numbers behind the broker's: the
  // group gets a fresh producer. A compressed record batch above the broker's limit (events that
  // compress worse than usual) is refused whole: it is sent again in halves, in order.
  const sendChunk = async (g: number, chunk: OutgoingMessage[]): Promise<void> => {
    try {
      await producers[g]!.send(settings.topic, chunk);
    } catch (error) {
      const failed = producers[g]!;
      producers[g] = newProducer();
      await failed.disconnect().catch(() => undefined);
      await producers[g].connect();
      if (!isTooLarge(error) || chunk.length < 2) throw error;
      const half = Math.ceil(chunk.length / 2);
      await sendChunk(g, chunk.slice(0, half));
      await sendChunk(g, chunk.slice(half));
    }
  };

  port.on('message', (request: UsageProducerRequest) => {
    if (request.type === 'stop') {
      port.removeAllListeners('message');
      void Promise.all(producers.map((p) => p.disconnect())).finally(() => port.close());
      return;
    }
    send(request.keys, request.values).then(
      () => reply({ type: 'sent', id: request.id }),
      (error: unknown) =>
        reply({
          type: 'failed',
          id: request.id,
          message: error instanceof Error ? error.message : String(error),
        }),
    );
  });
  reply({ type: 'ready' });
}

function isTooLarge(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as Error & { type?: unknown }).type === 'MESSAGE_TOO_LARGE') return true;
  }
  return false;
}

/** A stable group per tenant (FNV-1a): its events keep their order through one producer. */
function groupOf(key: string, groups: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % groups;
}

void main();
