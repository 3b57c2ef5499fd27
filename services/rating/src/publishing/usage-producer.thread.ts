import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type Logger, createLogger } from '@metering/observability';
import {
  type UsageProducerReply,
  type UsageProducerRequest,
  type UsageProducerSettings,
} from './usage-producer.protocol';

export class UsageProducerError extends Error {
  readonly code = 'USAGE_PRODUCE_FAILED';
}

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * The main thread's side of the usage producer thread (usage-producer.worker.ts). `send`
 * resolves when Kafka has acknowledged every event. If the thread dies, pending sends fail (the
 * batch is retried) and the next send starts a new thread.
 */
export class UsageProducerThread {
  private worker: Worker | null = null;
  private ready: Promise<void> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stopping = false;
  private readonly logger: Logger;

  constructor(
    private readonly settings: UsageProducerSettings,
    rootLogger: Logger,
    private readonly script = join(__dirname, 'usage-producer.worker.js'),
  ) {
    this.logger = createLogger('UsageProducerThread', { parent: rootLogger });
  }

  /** Starts the thread and waits until its producer is connected. */
  start(): Promise<void> {
    if (this.ready !== null) return this.ready;
    // Its heap holds a few batches of events at most; bounded, so the process stays small. An
    // out-of-memory thread fails its sends (the batch is retried) and is started again.
    const worker = new Worker(this.script, {
      workerData: this.settings,
      resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 },
    });
    this.worker = worker;
    this.ready = new Promise<void>((resolve, reject) => {
      const onReply = (reply: UsageProducerReply): void => {
        switch (reply.type) {
          case 'ready':
            resolve();
            break;
          case 'fatal':
            reject(new UsageProducerError(`usage producer: ${reply.message}`));
            void worker.terminate();
            break;
          case 'sent':
            this.settle(reply.id, null);
            break;
          case 'failed':
            this.settle(
              reply.id,
              new UsageProducerError(`usage events not published: ${reply.message}`),
            );
            break;
        }
      };
      worker.on('message', onReply);
      worker.once('error', (error) => {
        this.logger.error({ err: error }, 'usage producer thread failed');
        reject(error);
      });
      worker.once('exit', (code) => {
        if (!this.stopping) this.logger.error({ code }, 'usage producer thread exited');
        reject(new UsageProducerError(`usage producer thread exited (${code})`));
        this.worker = null;
        this.ready = null;
        for (const id of [...this.pending.keys()]) {
          this.settle(
            id,
            new UsageProducerError('usage producer thread exited before acknowledging'),
          );
        }
      });
    });
    return this.ready;
  }

  async send(keys: string[], values: string[]): Promise<void> {
    if (values.length === 0) return;
    if (this.stopping) throw new UsageProducerError('usage producer is stopping');
    await this.start();
    const worker = this.worker;
    if (worker === null) throw new UsageProducerError('usage producer thread is not running');
    const id = this.nextId++;
    const acknowledged = new Promise<void>((resolve, reject) =>
      this.pending.set(id, { resolve, reject }),
    );
    const request: UsageProducerRequest = { type: 'send', id, keys, values };
    worker.postMessage(request);
    await acknowledged;
  }

  /** Lets the thread flush and disconnect its producer (at most `timeoutMs`), then ends it. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    const worker = this.worker;
    if (worker === null) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const request: UsageProducerRequest = { type: 'stop' };
    worker.postMessage(request);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    if ((await Promise.race([exited, timeout])) === 'timeout') await worker.terminate();
    clearTimeout(timer);
  }

  private settle(id: number, error: Error | null): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    if (error === null) p.resolve();
    else p.reject(error);
  }
}
