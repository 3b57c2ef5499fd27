import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Decimal } from '@metering/money';
import { type UsageInterval } from './rate-sample';
import { byteSeconds, coreSeconds } from './exact-units';
import { splitInterval } from './usage-bucket';
import { hourBucketStart, zoneOffsetMs } from '@metering/pricing';

const iso = (s: string) => Date.parse(s);
const GiB = 1n << 30n;

function interval(from: string, to: string, over: Partial<UsageInterval> = {}): UsageInterval {
  return {
    tenantId: 'acme',
    resourceKind: 'container',
    resourceId: 'r1',
    instanceId: 'i1',
    fromMs: iso(from),
    toMs: iso(to),
    cpuUsageNs: 3_600_000_000_000n,
    cpuAllocationCores: null,
    memoryUsageBytes: GiB,
    memoryAllocationBytes: null,
    gap: false,
    counterReset: false,
    clippedMs: 0,
    clippedCpuNs: 0n,
    ...over,
  };
}

const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);

describe('zones', () => {
  test('offsets, including half- and quarter-hour zones and DST', () => {
    assert.equal(zoneOffsetMs('UTC', iso('2026-07-01T00:00:00Z')), 0);
    assert.equal(zoneOffsetMs('Asia/Kolkata', iso('2026-07-01T00:00:00Z')), 5.5 * 3_600_000);
    assert.equal(zoneOffsetMs('Asia/Kathmandu', iso('2026-07-01T00:00:00Z')), 5.75 * 3_600_000);
    assert.equal(zoneOffsetMs('America/New_York', iso('2026-07-01T00:00:00Z')), -4 * 3_600_000);
    assert.equal(zoneOffsetMs('America/New_York', iso('2026-12-01T00:00:00Z')), -5 * 3_600_000);
    assert.equal(zoneOffsetMs('America/St_Johns', iso('2026-12-01T00:00:00Z')), -3.5 * 3_600_000);
  });

  test('hour buckets align to local hours, so local midnight is always a bucket edge', () => {
    assert.equal(hourBucketStart('UTC', iso('2026-11-26T12:34:56Z')), iso('2026-11-26T12:00:00Z'));
    // Local midnight of 1 Dec in Kolkata is 30 Nov 18:30Z.
    assert.equal(
      hourBucketStart('Asia/Kolkata', iso('2026-11-30T18:45:00Z')),
      iso('2026-11-30T18:30:00Z'),
    );
    assert.equal(
      hourBucketStart('Asia/Kolkata', iso('2026-11-30T18:15:00Z')),
      iso('2026-11-30T17:30:00Z'),
    );
    assert.equal(
      hourBucketStart('Asia/Kathmandu', iso('2026-11-30T18:14:59Z')),
      iso('2026-11-30T17:15:00Z'),
    );
    assert.equal(
      hourBucketStart('America/New_York', iso('2026-12-01T04:59:59Z')),
      iso('2026-12-01T04:00:00Z'),
    );
  });
});

describe('splitInterval', () => {
  test('an interval inside one hour stays whole', () => {
    const [only, ...rest] = splitInterval(
      interval('2026-11-26T12:00:10Z', '2026-11-26T12:00:20Z'),
      'UTC',
    );
    assert.equal(rest.length, 0);
    assert.equal(coreSeconds(only!.cpuUsage), '3600');
    assert.equal(byteSeconds(only!.memoryUsage), new Decimal(10).times(GiB.toString()).toString());
    assert.equal(only?.observedMs, 10_000);
  });

  test('crossing an hour splits CPU in proportion to time and memory exactly', () => {
    const parts = splitInterval(interval('2026-11-26T12:59:30Z', '2026-11-26T13:00:10Z'), 'UTC');
    assert.deepEqual(
      parts.map((p) => [new Date(p.bucketStartMs).toISOString(), coreSeconds(p.cpuUsage)]),
      [
        ['2026-11-26T12:00:00.000Z', '2700'],
        ['2026-11-26T13:00:00.000Z', '900'],
      ],
    );
    assert.equal(
      byteSeconds(parts[0]!.memoryUsage),
      new Decimal(30).times(GiB.toString()).toString(),
    );
  });

  test('crossing local midnight of a month in Asia/Kolkata splits on the local edge', () => {
    const parts = splitInterval(
      interval('2026-11-30T18:00:00Z', '2026-11-30T19:00:00Z', { cpuUsageNs: 3_600_000_000_000n }),
      'Asia/Kolkata',
    );
    assert.deepEqual(
      parts.map((p) => [new Date(p.bucketStartMs).toISOString(), coreSeconds(p.cpuUsage)]),
      [
        ['2026-11-30T17:30:00.000Z', '1800'], // 23:30-00:00 local, 30 November
        ['2026-11-30T18:30:00.000Z', '1800'], // 00:00-00:30 local, 1 December
      ],
    );
  });

  test('an uneven split still adds up to the exact nanosecond total', () => {
    const parts = splitInterval(
      interval('2026-11-26T10:20:00Z', '2026-11-26T13:07:00Z', { cpuUsageNs: 1_000_000_007n }),
      'UTC',
    );
    assert.equal(parts.length, 4);
    assert.equal(coreSeconds(sum(parts.map((p) => p.cpuUsage))), '1.000000007');
  });

  test('allocation and max bases: quota × time, and per-interval max', () => {
    const [p] = splitInterval(
      interval('2026-11-26T12:00:00Z', '2026-11-26T12:00:10Z', {
        cpuUsageNs: 2_000_000_000n, // 2 core-seconds used
        cpuAllocationCores: '0.5', // 5 core-seconds allocated
        memoryUsageBytes: 3n * GiB,
        memoryAllocationBytes: 2n * GiB, // over its allocation (no limit enforced)
      }),
      'UTC',
    );
    assert.equal(coreSeconds(p!.cpuAllocation), '5');
    assert.equal(coreSeconds(p!.cpuMax), '5');
    assert.equal(
      byteSeconds(p!.memoryAllocation),
      new Decimal(20).times(GiB.toString()).toString(),
    );
    assert.equal(byteSeconds(p!.memoryMax), new Decimal(30).times(GiB.toString()).toString());
  });

  test('unlimited allocation falls back to usage', () => {
    const [p] = splitInterval(interval('2026-11-26T12:00:00Z', '2026-11-26T12:00:10Z'), 'UTC');
    assert.equal(p?.cpuAllocation, p?.cpuUsage);
    assert.equal(p?.memoryAllocation, p?.memoryUsage);
  });

  test('a gap counts its CPU and allocation but no memory usage, and is disclosed', () => {
    const [p] = splitInterval(
      interval('2026-11-26T12:00:00Z', '2026-11-26T12:10:00Z', {
        gap: true,
        memoryUsageBytes: null,
        memoryAllocationBytes: GiB,
      }),
      'UTC',
    );
    assert.equal(byteSeconds(p!.memoryUsage), '0');
    assert.equal(
      byteSeconds(p!.memoryAllocation),
      new Decimal(600).times(GiB.toString()).toString(),
    );
    assert.equal(coreSeconds(p!.cpuUsage), '3600');
    assert.equal(p?.gapMs, 600_000);
    assert.equal(p?.observedMs, 0);
  });

  test('an instant puts its CPU in the bucket it happened in', () => {
    const parts = splitInterval(
      interval('2026-11-26T12:00:05Z', '2026-11-26T12:00:05Z', { cpuUsageNs: 5n }),
      'UTC',
    );
    assert.equal(parts.length, 1);
    assert.equal(coreSeconds(parts[0]!.cpuUsage), '0.000000005');
    assert.equal(byteSeconds(parts[0]!.memoryUsage), '0');
  });
});
