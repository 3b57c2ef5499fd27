#!/usr/bin/env node
// What one partition batch keeps alive while it is rated, per sample, stage by stage (a script
// that prints figures, not a test): the fleet's samples (bench/sample-stream.mjs) as kafkajs hands
// them over (a record with key and value Buffers, offset and timestamp strings), decoded
// (MeteredSample), rated (states, intervals, bucket segments), planned and cut into unpriced
// pieces, and the InfluxDB lines of the batch, through the processor's one pass (foldBatch) and
// through the batch functions one after the other (as before it) — heap used after a full GC, each stage's output
// held as the processor holds it until the commit. Objects that survive a scavenge are copied
// and then marked by the old generation's collector: these bytes are what garbage collection
// pays for per sample. Run with --expose-gc.
//
//   npx tsc -b services/rating && node --expose-gc bench/retained-per-sample.mjs [--batch 6500]
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { fleetSamples } from './sample-stream.mjs';

const require = createRequire(import.meta.url);
const dist = (p) => require(`../services/rating/dist/src/${p}`);
const domain = dist('domain/index.js');
const { decodeBatch } = dist('consuming/batch-messages.js');
const influx = dist('sinks/influx-points.js');

const { values: opts } = parseArgs({
  options: {
    batch: { type: 'string', default: '6500' },
    resources: { type: 'string', default: '170' },
  },
});
const N = Number(opts.batch);
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const heap = () => {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
};

// One partition's share of the bench's fleet: 1,000 resources over 6 partitions.
const base = heap();
const messages = [];
let offset = 1_000_000;
for (const { key, value } of fleetSamples({
  samples: N,
  resources: Number(opts.resources),
  tenants: 50,
})) {
  // As kafkajs's record decoder leaves it (slices of the fetch response), then ConsumedMessage.
  const fetched = Buffer.from(`${key}${value}`);
  messages.push({
    topic: 'samples',
    partition: 0,
    offset: String(offset++),
    key: fetched.subarray(0, key.length),
    value: fetched.subarray(key.length),
    headers: {},
    timestamp: String(Date.now()),
  });
}
const stages = [['messages (kafkajs records as ConsumedMessage)', heap() - base]];
let last = heap();
const mark = (name) => {
  const now = heap();
  stages.push([name, now - last]);
  last = now;
};
const decoded = decodeBatch(messages, new Map(), { nowMs: Date.now(), maxFutureSkewMs: 300_000 });
if (decoded.samples.length !== N) throw new Error(`${decoded.samples.length} samples decoded`);
mark('decoded (MeteredSample, the message list)');
const pricing = {
  planAt: () => null,
  currencyOf: () => 'EUR',
};
// The processor's one pass (foldSamples, as SampleBatchProcessor runs it): what it keeps until
// the commit.
const folded = domain.foldSamples(
  decoded.samples,
  new Map(),
  { rules: { maxGapMs: 300_000 }, windows: { windowMs: 300_000 }, lastSeenStepMs: 300_000 },
  { zoneOf: () => 'UTC', pricing },
  () => undefined,
);
const foldedPieces = folded.pieces;
const foldedLines = folded.gauges.map((g) => influx.resourcePoint(g).line);
mark(
  `one pass, as the processor rates (states, bucket sums, ${foldedPieces.length} pieces, ${foldedLines.length} gauge lines)`,
);
const oneStages = [...stages];
// The batch functions one after the other, each output kept (as the processor did before the
// one pass): the comparison.
const rating = domain.rateBatch(decoded.samples, new Map(), { maxGapMs: 300_000 }, () => 'UTC');
mark('  batch functions: rated (states, intervals, segments, bucket sums)');
const planned = domain.planBatch(rating.rated, pricing);
mark('  batch functions: planned (plan and month per segment)');
const pieces = domain.unpricedPieces(
  planned,
  { windowMs: 300_000 },
  rating.states.values(),
  () => '2026-11',
);
mark('  batch functions: unpriced pieces');
const lines = domain.resourceGauges(rating.rated).map((g) => influx.resourcePoint(g).line);
mark(`  batch functions: InfluxDB gauge lines (${lines.length})`);
const sum = (list) => list.reduce((s, [, b]) => s + b, 0);
console.log(`retained while a batch of ${N} samples is rated, bytes per sample:`);
for (const [name, bytes] of stages) console.log(`  ${(bytes / N).toFixed(0).padStart(6)}  ${name}`);
const one = sum(oneStages);
const before = one - oneStages.at(-1)[1] + sum(stages.slice(oneStages.length));
console.log(`  ${(one / N).toFixed(0).padStart(6)}  in all, one pass`);
console.log(
  `  ${(before / N).toFixed(0).padStart(6)}  in all, batch functions (one pass ×${(one / before).toFixed(2)})`,
);
// Keep everything reachable until here.
if (
  messages.length + pieces.length + planned.intervals.length + lines.length + foldedPieces.length <
  0
)
  console.log(folded, foldedLines);
