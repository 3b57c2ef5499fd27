import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type Lifecycle } from '@metering/contracts';
import { testLogger, withTempDir } from '../test/spool.fixtures';
import { DiskSpool } from './disk-spool';
import { type SpoolRecord } from './spool-record';

type Op =
  | { kind: 'append'; records: Array<{ key: string; lifecycle: Lifecycle; size: number }> }
  | { kind: 'peek'; max: number }
  | { kind: 'ack' }
  | { kind: 'reopen' };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      records: fc.array(
        fc.record({
          key: fc.constantFrom('a', 'b', 'c'),
          lifecycle: fc.constantFrom<Lifecycle>('running', 'running', 'running', 'start', 'final'),
          size: fc.integer({ min: 1, max: 200 }),
        }),
        { minLength: 1, maxLength: 12 },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('peek' as const),
      max: fc.integer({ min: 1, max: 30 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('ack' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
);

const settings = { maxBytes: 4096, segmentBytes: 1024, fsync: 'never' as const };
const idOf = (record: SpoolRecord): number => Number(record.value.toString().split(':')[0]);

test('any interleaving of append/peek/ack/reopen keeps order and never loses an unacked start or final record', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArbitrary, { minLength: 1, maxLength: 30 }), (ops) =>
      withTempDir(async (dir) => {
        const open = (): Promise<DiskSpool> =>
          DiskSpool.open(dir, { settings, logger: testLogger() });
        let spool = await open();
        let nextId = 0;
        const lifecycleOf = new Map<number, Lifecycle>();
        const acked = new Set<number>();
        let leased: number[] = [];
        let accounted = 0; // appended - thinned - acked

        for (const op of ops) {
          switch (op.kind) {
            case 'append': {
              const records = op.records.map((r) => {
                const id = nextId++;
                lifecycleOf.set(id, r.lifecycle);
                return {
                  key: Buffer.from(r.key),
                  value: Buffer.from(`${id}:`.padEnd(r.size, '.')),
                  lifecycle: r.lifecycle,
                };
              });
              const result = await spool.append(records);
              assert.equal(
                result.appended + result.rejected,
                records.length,
                'every record accounted for',
              );
              accounted += result.appended - result.thinned;
              break;
            }
            case 'peek': {
              const ids = (await spool.peek(op.max)).map(idOf);
              const common = Math.min(ids.length, leased.length);
              assert.deepEqual(
                ids.slice(0, common),
                leased.slice(0, common),
                'leased records stay put',
              );
              if (ids.length > leased.length) leased = ids;
              break;
            }
            case 'ack': {
              await spool.ack(leased.length);
              accounted -= leased.length;
              for (const id of leased) acked.add(id);
              leased = [];
              break;
            }
            case 'reopen': {
              await spool.close();
              spool = await open();
              leased = [];
              break;
            }
          }
          assert.equal(spool.depth(), accounted, 'depth = appended - thinned - acked');
        }

        // peek answers from memory while it holds every unacked record: the same as the disk.
        const described = (r: SpoolRecord): string =>
          `${r.seq} ${r.lifecycle} ${r.appendedAt} ${r.key.toString()} ${r.value.toString()}`;
        const live = (await spool.peek(10_000)).map(described);
        await spool.close();
        spool = await open();
        const fromDisk = await spool.peek(10_000);
        assert.deepEqual(fromDisk.map(described), live, 'peek from memory = peek from disk');
        const present = fromDisk.map(idOf);
        await spool.close();
        assert.equal(present.length, accounted);
        assert.deepEqual(
          present,
          [...present].sort((x, y) => x - y),
          'append order kept',
        );
        assert.equal(new Set(present).size, present.length, 'no duplicates');
        for (const id of present) assert.ok(!acked.has(id), `acked record ${id} came back`);
        const survivors = new Set(present);
        for (const [id, lifecycle] of lifecycleOf) {
          if (lifecycle !== 'running' && !acked.has(id)) {
            assert.ok(survivors.has(id), `${lifecycle} record ${id} lost`);
          }
        }
      }),
    ),
    { numRuns: 60 },
  );
});
