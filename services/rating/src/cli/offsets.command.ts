import { hostname, userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { NestFactory } from '@nestjs/core';
import { KafkaClientFactory, readMessagesAt } from '@metering/kafka';
import { createRootLogger } from '@metering/observability';
import { AppModule } from '../app.module';
import { loadRatingConfig } from '../config';
import { RATING_STORES } from '../connections.providers';
import { decideContinuity } from '../domain/offset-continuity';
import { messageFingerprint } from '../consuming/message-fingerprint';
import { type RatingLedgerStores } from '../ledger/rating-ledger';
import {
  type OffsetPositionStore,
  PositionMovedError,
  type RecordedDecision,
  type StoredPosition,
} from '../ledger/offset-position.store';
import {
  type OffsetsAction,
  type PartitionPlan,
  type PartitionView,
  describeVerdict,
  planAction,
} from './offsets.plan';

export const OFFSETS_USAGE = `usage:
  npm run rating -- offsets [status] [--topic T] [--partition P] [--json]
  npm run rating -- offsets --reset-to-start [--topic T] [--partition P] [--yes] [--json]
  npm run rating -- offsets --accept-gap     [--topic T] [--partition P] [--yes] [--json]

Compares the positions rating stored in the ledger with the samples topic (log start, log end,
the fingerprint of the message before each position) and says what rating does with each
partition. A partition rating stopped needs a decision:
  --reset-to-start  the topic is not the one the position was taken on (recreated, another
                    cluster, position past its end): rate it from its first message
  --accept-gap      retention deleted messages before rating read them: record them as lost and
                    go on from the log start
Prints what would happen first; acts only with --yes (recorded in the ledger with who and when).
A running rating resumes the partition within OFFSET_DECISION_POLL_MS, no restart needed.
Settings as for the rating service (DATABASE_*, KAFKA_BROKERS, RATING_GROUP_ID, SAMPLES_TOPIC).
Exit codes: 0 done (status: every partition in line), 1 refused, failed or (status) a partition
needs a decision, 2 bad arguments.`;

class UsageError extends Error {
  readonly code = 'USAGE';
}

interface Parsed {
  action: OffsetsAction | null;
  topic: string | undefined;
  partition: number | undefined;
  yes: boolean;
  json: boolean;
  help: boolean;
}

function parse(argv: string[]): Parsed {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      'reset-to-start': { type: 'boolean' },
      'accept-gap': { type: 'boolean' },
      topic: { type: 'string' },
      partition: { type: 'string' },
      yes: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  const [sub, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  if (sub !== undefined && sub !== 'status') throw new UsageError(`unknown subcommand ${sub}`);
  const reset = values['reset-to-start'] === true;
  const gap = values['accept-gap'] === true;
  if (reset && gap) throw new UsageError('--reset-to-start and --accept-gap exclude each other');
  if (sub === 'status' && (reset || gap)) throw new UsageError('status takes no action');
  let partition: number | undefined;
  if (values.partition !== undefined) {
    if (!/^(0|[1-9]\d{0,8})$/.test(values.partition)) {
      throw new UsageError(`--partition must be a partition number, not "${values.partition}"`);
    }
    partition = Number(values.partition);
  }
  const topic = values.topic;
  // Topic names: Kafka's own rule (legal characters, at most 249).
  if (topic !== undefined && !/^[A-Za-z0-9._-]{1,249}$/.test(topic)) {
    throw new UsageError(`--topic "${topic}" is not a Kafka topic name`);
  }
  return {
    action: reset ? 'reset_to_start' : gap ? 'accept_gap' : null,
    topic,
    partition,
    yes: values.yes === true,
    json: values.json === true,
    help: values.help === true,
  };
}

/** `rating offsets`: see OFFSETS_USAGE. Returns the exit code. */
export async function offsetsCommand(argv: string[]): Promise<number> {
  let args: Parsed;
  try {
    args = parse(argv);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`rating offsets: ${message}\n${OFFSETS_USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(OFFSETS_USAGE);
    return 0;
  }
  const config = loadRatingConfig();
  const topic = args.topic ?? config.samplesTopic;
  const groupId = config.groupId;
  const logger = createRootLogger({
    serviceName: 'rating-cli',
    level: 'error',
    destination: process.stderr,
  });
  // Rating's module without its pipeline: the ledger (two connections, migrated as the service
  // would: MIGRATE_ON_START) and the Kafka client factory.
  const app = await NestFactory.createApplicationContext(
    AppModule.forRoot(
      { ...config, database: { ...config.database, poolSize: 2 } },
      { logger, start: false, applicationName: 'rating-offsets' },
    ),
    { logger: false, abortOnError: false },
  );
  const kafka = app.get(KafkaClientFactory);
  const admin = kafka.createAdmin();
  try {
    await admin.connect();
    const store = app.get<RatingLedgerStores>(RATING_STORES).offsets;
    const views = await inspect(store, admin, kafka, groupId, topic, args.partition);
    if (args.partition !== undefined && views.length === 0) {
      console.error(`rating offsets: ${topic} has no partition ${args.partition}`);
      return 1;
    }
    if (args.action === null) {
      print(args.json, { groupId, topic, partitions: views.map(viewJson) }, () =>
        statusTable(groupId, topic, views),
      );
      return views.some((v) => v.verdict.kind === 'stop') ? 1 : 0;
    }
    const action = args.action;
    const plans = views.map((v) => planAction(v, action));
    // Without --partition, act on the partitions that need this action; name one, and it must.
    const chosen = plans.filter((p) => p.eligible || args.partition !== undefined);
    const eligible = chosen.filter(
      (p): p is Extract<PartitionPlan, { eligible: true }> => p.eligible,
    );
    const refused = chosen.filter((p) => !p.eligible);
    if (!args.yes || eligible.length === 0 || refused.length > 0) {
      print(
        args.json,
        {
          groupId,
          topic,
          action,
          applied: false,
          partitions: views.map(viewJson),
          plan: chosen.map(planJson),
        },
        () =>
          [
            statusTable(groupId, topic, views),
            '',
            planText(action, chosen),
            eligible.length === 0 || refused.length > 0
              ? 'Nothing done.'
              : 'Nothing done yet: run again with --yes to apply.',
          ].join('\n'),
      );
      return eligible.length === 0 || refused.length > 0 ? 1 : 0;
    }
    const decidedBy = `${safeUser()}@${hostname()}`;
    const applied: RecordedDecision[] = [];
    for (const plan of eligible) {
      const view = views.find((v) => v.partition === plan.partition)!;
      applied.push(
        await store.decide({
          groupId,
          topic,
          partition: plan.partition,
          action,
          reason: plan.reason,
          previousOffset: view.stored,
          newOffset: plan.newOffset,
          logStart: view.logStart,
          logEnd: view.logEnd,
          messagesLost: plan.lost,
          decidedBy,
        }),
      );
    }
    print(
      args.json,
      {
        groupId,
        topic,
        action,
        applied: true,
        plan: eligible.map(planJson),
        decisions: applied.map((d) => ({
          id: d.id,
          partition: d.partition,
          previousOffset: d.previousOffset?.toString() ?? null,
          newOffset: d.newOffset.toString(),
          messagesLost: d.messagesLost.toString(),
          decidedBy: d.decidedBy,
          decidedAt: d.decidedAt.toISOString(),
        })),
      },
      () =>
        [
          planText(action, eligible),
          '',
          ...applied.map(
            (d) =>
              `decision ${d.id}: partition ${d.partition} now at ${d.newOffset} (was ${d.previousOffset ?? 'none'}), by ${d.decidedBy} at ${d.decidedAt.toISOString()}`,
          ),
          `A running rating resumes ${applied.length === 1 ? 'it' : 'them'} within ${config.offsetDecisionPollMs} ms.`,
        ].join('\n'),
    );
    return 0;
  } catch (error) {
    if (error instanceof PositionMovedError) {
      console.error(`rating offsets: ${error.code}: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    await admin.disconnect().catch(() => undefined);
    await app.close();
  }
}

/** The ledger's positions against the topic, with the fingerprint read where it can be. */
async function inspect(
  store: OffsetPositionStore,
  admin: ReturnType<KafkaClientFactory['createAdmin']>,
  kafka: KafkaClientFactory,
  groupId: string,
  topic: string,
  only: number | undefined,
): Promise<PartitionView[]> {
  const marks = (await admin.watermarks(topic)).filter(
    (m) => only === undefined || m.partition === only,
  );
  const positions = await store.positions(groupId, topic);
  const first = marks.map((m) => {
    const position: StoredPosition | undefined = positions.get(m.partition);
    const input = {
      stored: position?.nextOffset ?? null,
      logStart: BigInt(m.logStart),
      logEnd: BigInt(m.logEnd),
      storedFingerprint: position?.fingerprint ?? null,
    };
    return { m, input, verdict: decideContinuity({ ...input, found: 'unread' }) };
  });
  const targets = first.flatMap(({ m, verdict }) =>
    verdict.kind === 'verify' ? [{ partition: m.partition, offset: verdict.at.toString() }] : [],
  );
  const read = await readMessagesAt(kafka.kafka, topic, targets);
  return first.map(({ m, input, verdict }): PartitionView => {
    const base = {
      partition: m.partition,
      stored: input.stored,
      logStart: input.logStart,
      logEnd: input.logEnd,
    };
    if (verdict.kind !== 'verify') {
      const fingerprint =
        verdict.kind === 'stop' || input.stored === null
          ? 'not needed'
          : input.storedFingerprint === null
            ? 'not recorded'
            : 'not checkable';
      return { ...base, fingerprint, verdict };
    }
    const message = read.get(`${m.partition}@${verdict.at}`) ?? null;
    const found = message === null ? null : messageFingerprint(message).toString('hex');
    const decided = decideContinuity({ ...input, found: { fingerprint: found } });
    return {
      ...base,
      fingerprint: found === input.storedFingerprint ? 'match' : 'mismatch',
      verdict: decided,
    };
  });
}

function statusTable(groupId: string, topic: string, views: readonly PartitionView[]): string {
  const rows = [['partition', 'stored', 'log start', 'log end', 'fingerprint', 'state']];
  for (const v of views) {
    rows.push([
      String(v.partition),
      v.stored?.toString() ?? '-',
      v.logStart.toString(),
      v.logEnd.toString(),
      v.fingerprint,
      describeVerdict(v.verdict),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  return [`group ${groupId}, topic ${topic}`, ...lines].join('\n');
}

function planText(action: OffsetsAction, plans: readonly PartitionPlan[]): string {
  const flag = action === 'reset_to_start' ? '--reset-to-start' : '--accept-gap';
  if (plans.length === 0) return `${flag}: no partition needs it.`;
  return [
    `${flag}:`,
    ...plans.map((p) =>
      p.eligible
        ? `  partition ${p.partition} (${p.reason}): position set to ${p.newOffset} (the log start), fingerprint cleared; ${p.toRate} messages on the partition now will be rated, 0 skipped${p.lost > 0n ? `; ${p.lost} messages deleted by retention are recorded as lost` : ''}`
        : `  partition ${p.partition}: refused: ${p.why}`,
    ),
  ].join('\n');
}

function viewJson(v: PartitionView): Record<string, unknown> {
  return {
    partition: v.partition,
    storedOffset: v.stored?.toString() ?? null,
    logStart: v.logStart.toString(),
    logEnd: v.logEnd.toString(),
    fingerprint: v.fingerprint,
    state: v.verdict.kind === 'stop' ? 'stopped' : v.verdict.kind,
    ...(v.verdict.kind === 'stop'
      ? { reason: v.verdict.reason, messagesLost: v.verdict.lost.toString() }
      : {}),
  };
}

function planJson(p: PartitionPlan): Record<string, unknown> {
  return p.eligible
    ? {
        partition: p.partition,
        eligible: true,
        reason: p.reason,
        newOffset: p.newOffset.toString(),
        toRate: p.toRate.toString(),
        skipped: '0',
        lost: p.lost.toString(),
      }
    : { partition: p.partition, eligible: false, why: p.why };
}

function print(json: boolean, value: Record<string, unknown>, text: () => string): void {
  console.log(json ? JSON.stringify(value) : text());
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
