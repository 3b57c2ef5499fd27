import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type RatedInterval, emptyPosition, rateBatch, resourceGauges } from '../domain';
import { sampleAt } from '../domain/test-samples';
import fc from 'fast-check';
import {
  chargesPoint,
  resourcePoint,
  resourcePointViaPoint,
  usagePoint,
  usagePointViaPoint,
} from './influx-points';

describe('InfluxDB points (line protocol, ms timestamps)', () => {
  test('usage: running totals of a bucket at its start, tags escaped', () => {
    const p = usagePoint({
      tenantId: 'acme corp',
      resourceId: 'ctr,1',
      resourceKind: 'container',
      bucketStartMs: Date.UTC(2026, 10, 26, 12),
      cpuUsageCoreSeconds: '90.5',
      memoryUsageByteSeconds: String(2 ** 30 * 60),
      amount: '0.0012345',
      observedMs: 3_000_000,
      gapMs: 600_000,
    });
    assert.equal(
      p.line,
      `usage,kind=container,resource=ctr\\,1,tenant=acme\\ corp amount=0.0012345,completeness=0.8333333333333334,cpu_core_seconds=90.5,memory_gib_seconds=60 ${Date.UTC(2026, 10, 26, 12)}`,
    );
  });

  test('usage: the cached series prefix writes exactly what Point writes', () => {
    const decimal = fc
      .tuple(fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.integer({ min: 0, max: 25 }))
      .map(([digits, scale]) => {
        const text = digits.toString().padStart(scale + 1, '0');
        return scale === 0 ? text : `${text.slice(0, -scale)}.${text.slice(-scale)}`;
      });
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        fc.constantFrom('container' as const, 'vm' as const),
        fc.integer({ min: 0, max: 2_000_000_000 }),
        decimal,
        decimal,
        decimal,
        fc.nat(3_600_000),
        fc.nat(3_600_000),
        (tenantId, resourceId, resourceKind, hours, cpu, memory, amount, observedMs, gapMs) => {
          const b = {
            tenantId,
            resourceId,
            resourceKind,
            bucketStartMs: hours * 3_600_000,
            cpuUsageCoreSeconds: cpu,
            memoryUsageByteSeconds: memory,
            amount,
            observedMs,
            gapMs,
          };
          assert.deepEqual(usagePoint(b), usagePointViaPoint(b));
        },
      ),
    );
  });

  test('charges: month to date per tenant at the month’s start', () => {
    const p = chargesPoint(
      { ...emptyPosition('acme', '2026-11'), cpuAmount: 10n ** 20n, memoryAmount: 5n * 10n ** 19n },
      'EUR',
      Date.UTC(2026, 10, 1),
    );
    assert.match(p.line, /^charges,currency=EUR,period=2026-11,tenant=acme amount=1.5,/);
    assert.ok(p.line.endsWith(` ${Date.UTC(2026, 10, 1)}`));
  });

  test('resource: the cached series prefix writes exactly what Point writes', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.bigInt({ min: 0n, max: 1n << 40n }),
        fc.oneof(
          fc.constant(undefined),
          fc.constant(''),
          fc.string(),
          fc.constant('Ωμέγα 株式会社'),
        ),
        (tenantId, resourceId, host, seconds, cpu, memory, name) => {
          const rating = rateBatch(
            [
              sampleAt(seconds, 0n, { tenantId, resourceId, host, name }),
              sampleAt(seconds + 7, cpu, {
                tenantId,
                resourceId,
                host,
                name,
                memoryUsageBytes: memory,
              }),
            ],
            new Map(),
            { maxGapMs: 60_000 },
            () => 'UTC',
          );
          for (const r of rating.rated) {
            const [g] = resourceGauges([r]);
            assert.equal(resourcePoint(g!).line, resourcePointViaPoint(g!));
          }
          const [whole] = resourceGauges(rating.rated);
          assert.equal(resourcePoint(whole!).line, resourcePointViaPoint(whole!));
        },
      ),
    );
  });

  test('resource: the reading and the CPU rate since the previous sample', () => {
    const rating = rateBatch(
      [sampleAt(10, 0n), sampleAt(20, 5_000_000_000n, { memoryUsageBytes: 123n })],
      new Map(),
      { maxGapMs: 60_000 },
      () => 'UTC',
    );
    const p = resourcePoint(resourceGauges([rating.rated[1] as RatedInterval])[0]!);
    assert.equal(
      p.line,
      `resource,host=node-1,kind=container,resource=r1,tenant=acme cpu_cores=0.5,memory_bytes=123,memory_peak_bytes=123 ${Date.UTC(2026, 10, 26, 12, 0, 20)}`,
    );
  });

  test('resource: one point per resource and batch, the CPU averaged over its intervals, the latest and the highest reading', () => {
    const rating = rateBatch(
      [
        sampleAt(10, 0n, { memoryUsageBytes: 100n }),
        sampleAt(10, 0n, { resourceId: 'r2', memoryUsageBytes: 7n }),
        sampleAt(20, 5_000_000_000n, { memoryUsageBytes: 900n }),
        sampleAt(40, 35_000_000_000n, { memoryUsageBytes: 300n }),
      ],
      new Map(),
      { maxGapMs: 60_000 },
      () => 'UTC',
    );
    const lines = resourceGauges(rating.rated).map((g) => resourcePoint(g).line);
    // r1: 35 s of CPU over the 40 s since it started; r2: 10 s without CPU.
    assert.deepEqual(lines, [
      `resource,host=node-1,kind=container,resource=r1,tenant=acme cpu_cores=0.875,memory_bytes=300,memory_peak_bytes=900 ${Date.UTC(2026, 10, 26, 12, 0, 40)}`,
      `resource,host=node-1,kind=container,resource=r2,tenant=acme cpu_cores=0,memory_bytes=7,memory_peak_bytes=7 ${Date.UTC(2026, 10, 26, 12, 0, 10)}`,
    ]);
  });

  test('resource: a series that changes inside the batch (host, name) gets a point in each', () => {
    const rating = rateBatch(
      [
        sampleAt(10, 0n),
        sampleAt(20, 1_000_000_000n),
        sampleAt(30, 2_000_000_000n, { host: 'node-2' }),
        sampleAt(40, 3_000_000_000n, { host: 'node-2', name: 'web' }),
      ],
      new Map(),
      { maxGapMs: 60_000 },
      () => 'UTC',
    );
    const lines = resourceGauges(rating.rated).map((g) => resourcePoint(g).line);
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^resource,host=node-1,.* cpu_cores=0.05,/);
    assert.match(
      lines[1]!,
      /^resource,host=node-2,kind=container,resource=r1,tenant=acme cpu_cores=0.1,/,
    );
    assert.match(lines[2]!, /^resource,host=node-2,kind=container,name=web,/);
  });

  test('resource: the name as a tag when the collector gave one, escaped, absent when empty', () => {
    const rate = (name: string | undefined) =>
      resourcePoint(
        resourceGauges(
          rateBatch([sampleAt(10, 0n, { name })], new Map(), { maxGapMs: 60_000 }, () => 'UTC')
            .rated,
        )[0]!,
      ).line;
    assert.match(
      rate('web 1,a=b'),
      /^resource,host=node-1,kind=container,name=web\\ 1\\,a\\=b,resource=r1,tenant=acme /,
    );
    assert.match(rate('Ωμέγα 株式会社'), /,name=Ωμέγα\\ 株式会社,/);
    assert.doesNotMatch(rate(''), /name=/);
    assert.doesNotMatch(rate(undefined), /name=/);
  });
});
