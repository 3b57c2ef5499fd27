import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type DataSource } from 'typeorm';
import { encode, type SampleEvent } from '@metering/contracts';
import { exampleDockerSample } from '@metering/contracts/testing';
import { type ConsumedBatch, type Rejection } from '@metering/kafka';
import { uniqueName } from '@metering/testing';
import { BatchLedger } from '../src/ledger/batch-ledger.store';
import { LedgerDb } from '../src/ledger/ledger-db';
import { expectedLedger } from './rating-harness';
import {
  TOPIC,
  START,
  deferred,
  OutboxStaging,
  processorOn,
  tieredLedger,
  waitingForLock,
  within,
} from './processor-harness';
import { generateSamples } from './sample-stream';
import { ledgerPool } from './ledger-pool';

// The processor on a real PostgreSQL ledger, fed batches directly (no Kafka): a message the
// database refuses is found by splitting the batch and dead-lettered as UNRATEABLE, the rest rated
// exactly; an infrastructure failure is retried whole, never dead-lettered; arbitrary bytes are
// each rated or dead-lettered; the first samples of an instance arriving on two partitions at once
// are counted once.

const TENANTS = ['acme', 'globex'];
const ZONES = { acme: 'UTC', globex: 'UTC' };

/**
 * Dead letters that keep the batch's transaction open until released: the batch waits for its
 * dead letters to be acknowledged before it commits, whatever it has rated and written by then.
 */
class HeldDeadLetters {
  readonly publishing = deferred();
  readonly release = deferred();
  async publishAll(): Promise<void> {
    this.publishing.resolve();
    await within(this.release.promise, 'the held batch released');
  }
}

class CollectingDlq {
  readonly rejections: Rejection[] = [];
  publishAll(rejections: readonly Rejection[]): Promise<void> {
    this.rejections.push(...rejections);
    return Promise.resolve();
  }
}

function batchFrom(
  partition: number,
  messages: readonly { key: string | null; value: Buffer | null }[],
  firstOffset = 0,
): ConsumedBatch {
  const consumed = messages.map((m, i) => ({
    topic: TOPIC,
    partition,
    offset: String(firstOffset + i),
    key: m.key === null ? null : Buffer.from(m.key),
    value: m.value,
    headers: {},
    timestamp: String(START),
  }));
  const last = firstOffset + messages.length - 1;
  return {
    topic: TOPIC,
    partition,
    messages: consumed,
    firstOffset: String(firstOffset),
    lastOffset: String(last),
    nextOffset: String(last + 1),
    highWatermark: String(last + 1),
  };
}

const keyed = (s: SampleEvent): { key: string; value: Buffer } => ({
  key: s.resource.id,
  value: encode(s),
});

/** The ledger rows of some resources, as rating-harness's expectedLedger words them. */
async function ledgerOf(ds: DataSource, resourcePrefix: string): Promise<Map<string, string[]>> {
  const rows = await ds.query<Record<string, string>[]>(
    `SELECT tenant_id, resource_id, (extract(epoch from bucket_start) * 1000)::bigint::text AS start,
            cpu_usage_core_seconds::text AS a, cpu_allocation_core_seconds::text AS b,
            cpu_max_core_seconds::text AS c, memory_usage_byte_seconds::text AS d,
            memory_allocation_byte_seconds::text AS e, memory_max_byte_seconds::text AS f,
            observed_ms::text AS g, gap_ms::text AS h
     FROM usage_bucket WHERE resource_id LIKE $1 ORDER BY 1, 2, 3`,
    [`${resourcePrefix}%`],
  );
  return new Map(
    rows.map((r) => [
      `${r['tenant_id']}|${r['resource_id']}|${r['start']}`,
      ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((k) => normal(r[k]!)),
    ]),
  );
}

function normal(decimal: string): string {
  return decimal.includes('.') ? decimal.replace(/0+$/, '').replace(/\.$/, '') : decimal;
}

function normalised(m: Map<string, string[]>): Map<string, string[]> {
  return new Map([...m].map(([k, v]) => [k, v.map(normal)]));
}

describe('rating: a batch with a message that makes it fail (real PostgreSQL)', () => {
  const opened: { ds: DataSource; schema: string }[] = [];
  after(async () => {
    for (const { ds, schema } of opened.reverse()) {
      await ds.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await ds.destroy();
    }
  });

  async function ledger(): Promise<DataSource> {
    const schema = uniqueName('isolation');
    const ds = await tieredLedger({ schema, tenants: TENANTS, create: true });
    opened.push({ ds, schema });
    // A row this database refuses: a real PostgreSQL error (23514, a data error) raised by
    // the statements of whichever batch carries the sample of tenant "refused".
    await ds.query(
      `ALTER TABLE instance_state ADD CONSTRAINT refused_tenant CHECK (tenant_id <> 'refused')`,
    );
    return ds;
  }

  test('the message is found by splitting, dead-lettered as UNRATEABLE, the rest rated exactly', async () => {
    const ds = await ledger();
    const dlq = new CollectingDlq();
    const processor = processorOn(ds, new OutboxStaging(), { groupId: 'iso', deadLetters: dlq });
    const valid = generateSamples({
      seed: 41,
      tenants: TENANTS,
      resources: 5,
      samplesPerResource: 30,
      startMs: START,
    }).map((s) => ({ ...s, resource: { ...s.resource, id: `iso-${s.resource.id}` } }));
    const refused = (n: number): SampleEvent => {
      const s = structuredClone(valid[n]!);
      return { ...s, resource: { ...s.resource, id: `iso-refused-${n}`, tenantId: 'refused' } };
    };
    const messages = [...valid.map(keyed)];
    messages.splice(37, 0, keyed(refused(37)));
    messages.splice(120, 0, keyed(refused(120)));
    const batch = batchFrom(0, messages);

    const outcome = await processor.process(batch);

    assert.equal(outcome.unrateable, 2);
    assert.equal(outcome.deadLettered, 2);
    assert.deepEqual(
      dlq.rejections.map((r) => [r.message.offset, r.reason.reasonCode]),
      [
        ['37', 'UNRATEABLE'],
        ['120', 'UNRATEABLE'],
      ],
    );
    assert.match(dlq.rejections[0]!.reason.message, /23514.*refused_tenant/);
    assert.deepEqual(
      await ledgerOf(ds, 'iso-'),
      normalised(expectedLedger(valid, ZONES)),
      'the rest, exactly',
    );
    const [stored] = await ds.query<{ next_offset: string }[]>(
      `SELECT next_offset::text FROM consumer_offset WHERE group_id = 'iso'`,
    );
    assert.equal(stored?.next_offset, batch.nextOffset, 'the partition moved past the batch');

    // Delivered again (a crash before Kafka heard of it): nothing changes, nothing dead-lettered.
    const again = await processor.process(batch);
    assert.equal(again.skipped, batch.messages.length);
    assert.equal(dlq.rejections.length, 2);
  });

  test('a sample whose bytes name another instance first, and an implausible one, are rated as decoded whole', async () => {
    // The processor loads the states of the instances the messages' bytes name, then decodes and
    // folds one message at a time. A repeated instanceId (JSON.parse keeps the last: the contract's
    // decoder does) names a decoy first: its batch is rated again the exact way, in a new
    // transaction. An implausible sample needs its message beside it: the exact fold, in the same
    // transaction. Either way the ledger is the valid samples', exactly, and the decoy has no row.
    const ds = await ledger();
    const dlq = new CollectingDlq();
    let prepared = 0;
    const processor = processorOn(ds, new OutboxStaging(), {
      groupId: 'named',
      deadLetters: dlq,
      plausibility: true,
      phases: {
        start: (phase) => {
          if (phase === 'prepare') prepared += 1;
          return () => undefined;
        },
      },
    });
    const valid = generateSamples({
      seed: 43,
      tenants: TENANTS,
      resources: 4,
      samplesPerResource: 12,
      startMs: START,
    }).map((s) => ({ ...s, resource: { ...s.resource, id: `named-${s.resource.id}` } }));
    const decoyed = (s: SampleEvent): { key: string; value: Buffer } => ({
      key: s.resource.id,
      value: Buffer.from(
        JSON.stringify(s).replace('"resource":{', '"resource":{"instanceId":"named-decoy",'),
      ),
    });
    // A batch of one decoy, its instance named by no other message: a second transaction.
    const one = await processor.process(batchFrom(0, [decoyed(valid[0]!)]));
    assert.deepEqual([one.deadLettered, one.rated, prepared], [0, 1, 2]);
    // Then one more decoy among plain messages of its instance (named by them): no restart.
    const second = valid.slice(1, 20).map((s, i) => (i === 6 ? decoyed(s) : keyed(s)));
    await processor.process(batchFrom(0, second, 1));
    assert.equal(prepared, 3);
    // A lone decoy of an instance with a state: unloaded, its sample would count from its start.
    const lone = await processor.process(batchFrom(0, [decoyed(valid[20]!)], 20));
    assert.deepEqual([lone.rated, prepared], [1, 5]);
    // Then: the rest, with an implausible reading inserted (dead-lettered with its message).
    const implausible = structuredClone(valid[25]!);
    implausible.memory.usageBytes = 2 ** 53 - 1;
    const rest = valid.slice(21).map(keyed);
    rest.splice(3, 0, keyed(implausible));
    const two = await processor.process(batchFrom(0, rest, 21));
    assert.deepEqual(
      dlq.rejections.map((r) => [r.message.offset, r.reason.reasonCode]),
      [['24', 'IMPLAUSIBLE_MEMORY']],
    );
    assert.equal(two.applied, rest.length);
    assert.deepEqual(await ledgerOf(ds, 'named-'), normalised(expectedLedger(valid, ZONES)));
    const decoys = await ds.query<unknown[]>(
      `SELECT 1 FROM instance_state WHERE instance_id = 'named-decoy'`,
    );
    assert.equal(decoys.length, 0);
  });

  test('an infrastructure failure is thrown for the batch to be retried whole, nothing dead-lettered', async () => {
    const ds = await ledger();
    const dlq = new CollectingDlq();
    class DroppedConnection extends BatchLedger {
      failures = 1;
      override async saveStates(...args: Parameters<BatchLedger['saveStates']>): Promise<void> {
        if (this.failures-- > 0) {
          throw Object.assign(new Error('terminating connection due to administrator command'), {
            code: '57P01',
          });
        }
        return super.saveStates(...args);
      }
    }
    const repository = new DroppedConnection(new LedgerDb(ledgerPool(ds)));
    const processor = processorOn(ds, new OutboxStaging(), {
      groupId: 'infra',
      deadLetters: dlq,
      ledger: { batches: repository },
    });
    const valid = generateSamples({
      seed: 42,
      tenants: TENANTS,
      resources: 3,
      samplesPerResource: 10,
      startMs: START,
    }).map((s) => ({ ...s, resource: { ...s.resource, id: `infra-${s.resource.id}` } }));
    const batch = batchFrom(0, valid.map(keyed));
    await assert.rejects(processor.process(batch), /administrator command/);
    assert.equal(dlq.rejections.length, 0);
    const outcome = await processor.process(batch);
    assert.equal(outcome.deadLettered, 0);
    assert.deepEqual(await ledgerOf(ds, 'infra-'), normalised(expectedLedger(valid, ZONES)));
  });

  test('property: any bytes, any key — each message rated or dead-lettered, the good ones exactly', async () => {
    const ds = await ledger();
    let run = 0;
    const base = exampleDockerSample();
    const oddText = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom(
        '',
        '\u0000',
        'a\u0000b',
        '\ud800',
        '\u001b[0m',
        'Ωμέγα 株式会社',
        'x'.repeat(5_000),
      ),
    );
    const oddNumber = fc.oneof(
      fc.double(),
      fc.integer(),
      fc.constantFrom(0, -1, 1e-300, 1e21, 2 ** 53, 2 ** 64, Number.MAX_VALUE),
    );
    const mutation = fc.tuple(
      fc.constantFrom(
        'sampleId',
        'host',
        'resource.id',
        'resource.name',
        'resource.tenantId',
        'resource.instanceId',
        'resource.startedAt',
        'observedAt',
        'cpu.usageNs',
        'cpu.allocationCores',
        'cpu.hostCores',
        'memory.usageBytes',
        'memory.allocationBytes',
        'lifecycle',
      ),
      fc.oneof(oddText, oddNumber, fc.constantFrom(null, true, [], {}, '18446744073709551615')),
    );
    const garbage = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((b) => ({ key: 'g', value: Buffer.from(b) })),
      fc.jsonValue().map((j) => ({ key: 'g', value: Buffer.from(JSON.stringify(j) ?? 'null') })),
      fc.constant({ key: null, value: null }),
      fc
        .tuple(fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.boolean())
        .map(([edits, keep]) => {
          const s = structuredClone(base) as unknown as Record<string, unknown>;
          for (const [path, value] of edits) {
            const keys = path.split('.');
            let target = s;
            for (const k of keys.slice(0, -1)) target = target[k] as Record<string, unknown>;
            target[keys.at(-1)!] = value;
          }
          const id = (s['resource'] as { id?: unknown }).id;
          return {
            key: keep && typeof id === 'string' ? id : 'm',
            value: Buffer.from(JSON.stringify(s)),
          };
        }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(garbage, { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        async (bad, seed) => {
          run += 1;
          const prefix = `p${run}-`;
          const valid = generateSamples({
            seed,
            tenants: TENANTS,
            resources: 2,
            samplesPerResource: 6,
            startMs: START,
          }).map((s) => ({ ...s, resource: { ...s.resource, id: `${prefix}${s.resource.id}` } }));
          const messages: { key: string | null; value: Buffer | null }[] = valid.map(keyed);
          bad.forEach((m, i) => messages.splice((i * 7) % (messages.length + 1), 0, m));
          const dlq = new CollectingDlq();
          const processor = processorOn(ds, new OutboxStaging(), {
            groupId: `prop-${run}`,
            deadLetters: dlq,
            plausibility: true,
          });
          const batch = batchFrom(0, messages);
          const outcome = await processor.process(batch);
          // Every message accounted for: rated (an interval), a duplicate, out of order, or dead.
          assert.equal(outcome.applied, messages.length);
          assert.equal(
            outcome.rated + outcome.duplicates + outcome.outOfOrder + outcome.deadLettered,
            messages.length,
          );
          assert.equal(dlq.rejections.length, outcome.deadLettered);
          for (const r of dlq.rejections) assert.match(r.reason.reasonCode, /^[A-Z_]+$/);
          const [stored] = await ds.query<{ next_offset: string }[]>(
            `SELECT next_offset::text FROM consumer_offset WHERE group_id = $1`,
            [`prop-${run}`],
          );
          assert.equal(stored?.next_offset, batch.nextOffset);
          assert.deepEqual(await ledgerOf(ds, prefix), normalised(expectedLedger(valid, ZONES)));
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('rating: the first samples of an instance on two partitions at once (real PostgreSQL)', () => {
  test('are counted once', async () => {
    const schema = uniqueName('first_sample');
    const appA = `${schema}-a`;
    const appB = `${schema}-b`;
    const dsA = await tieredLedger({
      schema,
      tenants: TENANTS,
      create: true,
      applicationName: appA,
    });
    const dsB = await tieredLedger({
      schema,
      tenants: TENANTS,
      create: false,
      applicationName: appB,
    });
    try {
      const sample: SampleEvent = {
        ...exampleDockerSample(),
        resource: {
          ...exampleDockerSample().resource,
          id: 'race-1',
          tenantId: 'acme',
          startedAt: new Date(START).toISOString(),
        },
        observedAt: new Date(START + 10_000).toISOString(),
        cpu: { usageNs: '4000000000', allocationCores: null },
      };
      const later = { ...sample, observedAt: new Date(START + 20_000).toISOString() };
      // Partition 0 holds its first sample; partition 1 the same first sample and the next.
      const held = new HeldDeadLetters();
      const processA = processorOn(dsA, new OutboxStaging(), {
        groupId: 'race',
        deadLetters: held,
      });
      const processB = processorOn(dsB, new OutboxStaging(), { groupId: 'race' });
      const a = processA.process(batchFrom(0, [keyed(sample)]));
      // A has rated the first sample and waits in its transaction (acknowledging its dead
      // letters; its usage is priced after the commit, by the stage).
      await within(held.publishing.promise, 'A writing');
      const b = processB.process(batchFrom(1, [keyed(sample), keyed(later)]));
      // B waits for A's first sample: without the lock it would count it again meanwhile.
      await waitingForLock(dsB, appB);
      held.release.resolve();
      await within(Promise.all([a, b]), 'both batches');
      const [row] = await dsA.query<{ cpu: string }[]>(
        `SELECT sum(cpu_usage_core_seconds)::text AS cpu FROM usage_bucket WHERE resource_id = 'race-1'`,
      );
      // 4 s since startedAt, once; the later sample adds nothing (same counter).
      assert.equal(Number(row?.cpu), 4);
    } finally {
      await dsA.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await dsB.destroy();
      await dsA.destroy();
    }
  });
});
