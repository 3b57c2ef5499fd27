import { NestFactory } from '@nestjs/core';
import { type Pool } from 'pg';
import { HOST_AUTH_HEADER } from '@metering/contracts';
import { KafkaClientFactory, type OutgoingMessage } from '@metering/kafka';
import { createRootLogger } from '@metering/observability';
import { AppModule } from '../app.module';
import { type RatingConfig, loadRatingConfig } from '../config';
import { LEDGER_POOL } from '../connections.providers';
import { type CliCommand, type CliIo, EXIT, type ExitCode, progressBar } from './cli-command';
import { DLQ_USAGE, type DlqOptions, parseDlqArgs } from './dlq-options';
import { countByReason, reasonTable, recordTable, viewOf } from './dlq-output';
import {
  type DlqRecord,
  coordinateOf,
  decodeDlqRecord,
  matchesFilter,
  replayabilityOf,
} from './dlq-record';
import { DlqReplayStore, type ReplayClaim } from './dlq-replay.store';
import { DlqTopicReader } from './dlq-topic.reader';

type Selected = Extract<DlqOptions, { action: 'list' | 'replay' }>;

/** Header of a replayed record: the DLQ record it came from, `<dlqTopic>/<partition>/<offset>`. */
const REPLAYED_FROM_HEADER = 'dlq.replayed-from';

/** Records per transaction and produce request, and a bound on their bytes. */
const CHUNK_RECORDS = 100;
const CHUNK_BYTES = 512 * 1024;

/** `rating dlq list|replay`: see DLQ_USAGE and the service README, "DLQ". */
export const dlqCommand: CliCommand = {
  name: 'dlq',
  summary: 'list the dead-lettered samples, or replay the fixable ones',
  usage: DLQ_USAGE,
  async run(args, io) {
    const options = parseDlqArgs(args);
    if (options.action === 'help') {
      io.out.write(`${DLQ_USAGE}\n`);
      return EXIT.ok;
    }
    const config = loadRatingConfig();
    const logger = createRootLogger({
      serviceName: 'rating-cli',
      // The command reports its own failure in one line; kafkajs's retries are for debugging.
      level: config.logLevel === 'debug' || config.logLevel === 'trace' ? config.logLevel : 'fatal',
      destination: process.stderr,
    });
    // Rating's module without its pipeline: the ledger (two connections, not migrated here) and
    // the service's whole Kafka config (TLS, SASL too), under a client id of its own.
    const app = await NestFactory.createApplicationContext(
      AppModule.forRoot(
        {
          ...config,
          migrateOnStart: false,
          database: { ...config.database, poolSize: 2 },
          kafka: { ...config.kafka, clientId: `${config.kafka.clientId}-cli` },
        },
        { logger, start: false, applicationName: 'rating-cli' },
      ),
      { logger: false, abortOnError: false },
    );
    try {
      const kafka = app.get(KafkaClientFactory);
      const pool = app.get<Pool>(LEDGER_POOL);
      return await new DlqSession(config, options, kafka, pool, io).run();
    } finally {
      await app.close();
    }
  },
};

/** One invocation: read and select, then list or replay. */
class DlqSession {
  private readonly store: DlqReplayStore;
  private readonly dlqTopic: string;

  constructor(
    private readonly config: RatingConfig,
    private readonly options: Selected,
    private readonly kafka: KafkaClientFactory,
    pool: Pool,
    private readonly io: CliIo,
  ) {
    this.store = new DlqReplayStore(pool);
    this.dlqTopic = config.samplesDlqTopic;
  }

  async run(): Promise<ExitCode> {
    if (this.options.action === 'replay') await this.store.assertReady();
    const { records, undecodable } = await this.select();
    const replayed = (await this.store.ready())
      ? await this.store.replayed(this.dlqTopic)
      : new Map<string, Date>();
    const context = {
      samplesTopic: this.config.samplesTopic,
      keyFromResource: this.options.keyFromResource,
    };
    const entries = records.map((record) => {
      const replayability = replayabilityOf(record, context);
      const view = viewOf(
        this.dlqTopic,
        record,
        replayability,
        replayed.get(`${record.dlqPartition}/${record.dlqOffset}`),
      );
      return { record, replayability, view };
    });
    const views = entries.map((e) => e.view);
    const counts = countByReason(views);

    if (this.options.action === 'list') {
      if (this.options.json) {
        for (const v of views) this.line(JSON.stringify(v));
        this.line(
          JSON.stringify({ type: 'summary', records: views.length, undecodable, byReason: counts }),
        );
      } else {
        if (views.length > 0) this.line(recordTable(views));
        this.line(`\n${views.length} dead letters selected`);
        if (views.length > 0) this.line(reasonTable(counts));
      }
      return EXIT.ok;
    }

    const toReplay = entries.flatMap(({ record, replayability, view }) =>
      replayability.replayable && view.replayedAt === null
        ? [{ record, key: replayability.key }]
        : [],
    );
    const notReplayable = countBy(
      views.filter((v) => !v.replayable && v.replayedAt === null).map((v) => v.notReplayable),
    );
    const plan = {
      type: 'plan',
      dryRun: this.options.dryRun,
      selected: views.length,
      toReplay: toReplay.length,
      alreadyReplayed: views.filter((v) => v.replayedAt !== null).length,
      notReplayable,
      target: this.config.samplesTopic,
      keyFromResource: this.options.keyFromResource,
      byReason: counts,
    };
    if (this.options.json) {
      this.line(JSON.stringify(plan));
    } else {
      this.line(
        `${plan.dryRun ? 'would replay' : 'replay'} ${plan.toReplay} of ${plan.selected} selected dead letters ` +
          `to ${plan.target}${plan.keyFromResource ? ' (key: resource.id)' : ''}; ` +
          `${plan.alreadyReplayed} replayed before`,
      );
      if (views.length > 0) this.line(reasonTable(counts));
      for (const [why, n] of Object.entries(notReplayable))
        this.line(`not replayable: ${n} × ${why}`);
    }
    if (this.options.dryRun) return EXIT.ok;
    if (!this.options.yes) {
      this.io.err.write(
        'rating dlq replay: nothing replayed: add --yes to replay (or --dry-run)\n',
      );
      return EXIT.usage;
    }
    const result = await this.replay(toReplay);
    if (this.options.json) {
      this.line(JSON.stringify({ type: 'result', ...result }));
    } else {
      this.line(
        `replayed ${result.replayed} dead letters` +
          (result.skipped > 0
            ? `; ${result.skipped} were replayed meanwhile by another replay`
            : ''),
      );
    }
    return EXIT.ok;
  }

  /** Reads the DLQ topic from its start to its current end; keeps the records the filter selects. */
  private async select(): Promise<{ records: DlqRecord[]; undecodable: number }> {
    const selected: DlqRecord[] = [];
    let undecodable = 0;
    const limit = this.options.limit ?? Number.POSITIVE_INFINITY;
    const bar = progressBar('records');
    try {
      await new DlqTopicReader(this.kafka.kafka, this.kafka.config.clientId).read(this.dlqTopic, {
        idleTimeoutMs: 30_000,
        onStart: (total) => bar.start(total, `reading ${this.dlqTopic}`),
        onProgress: (n) => bar.advance(n),
        onRecord: (raw) => {
          const decoded = decodeDlqRecord(raw);
          if (!decoded.ok) {
            undecodable += 1;
            return;
          }
          if (selected.length < limit && matchesFilter(decoded.record, this.options.filter)) {
            selected.push(decoded.record);
          }
        },
      });
    } finally {
      bar.stop();
    }
    if (undecodable > 0) {
      this.io.err.write(
        `rating dlq: ${undecodable} record(s) of ${this.dlqTopic} are not DLQ events (skipped)\n`,
      );
    }
    return { records: selected, undecodable };
  }

  private async replay(
    items: readonly { record: DlqRecord; key: Buffer | null }[],
  ): Promise<{ replayed: number; skipped: number }> {
    const producer = this.kafka.createProducer({
      maxBatchSize: CHUNK_RECORDS,
      // Bounded: a broker that stays away fails the replay (exit 1) instead of hanging; what was
      // not acknowledged is not recorded and stays replayable.
      retry: { retries: 8, maxRetryTime: 30_000 },
    });
    await producer.connect();
    const bar = progressBar('dead letters');
    let replayed = 0;
    try {
      bar.start(items.length, 'replaying');
      for (const chunk of chunks(items)) {
        const byCoordinate = new Map(
          chunk.map((item) => [`${item.record.dlqPartition}/${item.record.dlqOffset}`, item]),
        );
        const claimed = await this.store.claimWhilePublishing(
          this.dlqTopic,
          chunk.map(({ record }) => claimOf(record, this.config.samplesTopic, this.options)),
          (won) =>
            producer.send(
              this.config.samplesTopic,
              won.map((c) => {
                const item = byCoordinate.get(`${c.partition}/${c.offset}`)!;
                return this.messageOf(item.record, item.key);
              }),
            ),
        );
        replayed += claimed.length;
        bar.advance(chunk.length);
      }
    } finally {
      bar.stop();
      await producer.disconnect();
    }
    return { replayed, skipped: items.length - replayed };
  }

  private messageOf(record: DlqRecord, key: Buffer | null): OutgoingMessage {
    return {
      key,
      value: record.value,
      headers: {
        [REPLAYED_FROM_HEADER]: coordinateOf(this.dlqTopic, record),
        // The host's MAC covers the key and value as first sent: with --key-from-resource the
        // key differs and the sample is refused again (HOST_UNVERIFIED), as it must be.
        ...(record.event.original.hostAuth === undefined
          ? {}
          : { [HOST_AUTH_HEADER]: record.event.original.hostAuth }),
      },
    };
  }

  private line(text: string): void {
    this.io.out.write(`${text}\n`);
  }
}

function claimOf(record: DlqRecord, targetTopic: string, options: Selected): ReplayClaim {
  return {
    partition: record.dlqPartition,
    offset: record.dlqOffset,
    reasonCode: record.event.reason.code,
    targetTopic,
    originalPartition: record.event.original.partition,
    originalOffset: record.event.original.offset,
    keyFromResource: options.keyFromResource,
  };
}

/** Consecutive runs of at most CHUNK_RECORDS records and CHUNK_BYTES bytes (at least one each). */
function* chunks<T extends { record: DlqRecord; key: Buffer | null }>(
  items: readonly T[],
): Generator<T[]> {
  let chunk: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = (item.record.value?.length ?? 0) + (item.key?.length ?? 0);
    if (chunk.length > 0 && (chunk.length >= CHUNK_RECORDS || bytes + size > CHUNK_BYTES)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(item);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

function countBy(values: readonly (string | null)[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) if (v !== null) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
