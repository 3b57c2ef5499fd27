import { type KafkaConfig } from '@metering/kafka';

/** Settings of the usage producer thread (plain data: it crosses the thread boundary). */
export interface UsageProducerSettings {
  /**
   * The service's whole Kafka config, TLS and SASL included (plain data, so it survives the
   * structured clone of workerData): the thread's client authenticates like the main one.
   */
  readonly kafka: KafkaConfig;
  readonly topic: string;
  readonly compression: 'none' | 'gzip';
  /** Bound of one produce request's event bytes (uncompressed): each record batch stays smaller. */
  readonly requestMaxBytes: number;
  /** Producers sending at once; a tenant's events always go through the same one, in order. */
  readonly producers: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** Main thread → producer thread. */
export type UsageProducerRequest =
  | {
      readonly type: 'send';
      readonly id: number;
      readonly keys: string[];
      readonly values: string[];
    }
  | { readonly type: 'stop' };

/** Producer thread → main thread. */
export type UsageProducerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'sent'; readonly id: number }
  | { readonly type: 'failed'; readonly id: number; readonly message: string }
  | { readonly type: 'fatal'; readonly message: string };
