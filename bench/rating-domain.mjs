#!/usr/bin/env node
// Where one sample's CPU goes inside the rating service's own code (a script that prints figures,
// not a test): the fleet's samples (bench/sample-stream.mjs) cut into partition batches and put
// through rating's steps in process, as the service runs them, without Kafka, PostgreSQL or
// InfluxDB — the streaming fold's pre-scan (instancesNamed: each message's instance named from its
// bytes, with the processor's InstanceNamer, which remembers where each resource names it),
// decode (the byte reader + the rating clock's rules), the per-host MAC check (ADR 0010), the
// batch's one pass (foldSamples, the function SampleBatchProcessor runs: deltas and hour
// buckets, with each interval planned and folded into unpriced pieces and the resource gauges, and
// the resource dimension's sightings), the pricing stage's pass over each tenant month's pieces
// (priceMonth: graduated tiers from the month's position, usage windows), the usage events of the
// windows it closed (encodeUsageEvent), and the raw gauge lines (one per resource and batch) —
// timed step by step, with garbage collection where it falls. Baseline in the same run: JSON.parse
// of the same bytes, so the figures compare across machines as a ratio. rating-throughput.mjs
// measures the whole service; what it spends beyond these steps is I/O (kafkajs, the PostgreSQL and
// InfluxDB clients) and their garbage.
//
//   npx tsc -b services/rating && node bench/rating-domain.mjs [--samples 300000] [--passes 3]
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { fleetSamples } from './sample-stream.mjs';

const require = createRequire(import.meta.url);
const dist = (p) => require(`../services/rating/dist/src/${p}`);
const domain = dist('domain/index.js');
const { decodeMeteredSample, decodeSampleFast } = dist('consuming/sample.decoder.js');
const { instancesNamed } = dist('consuming/batch-messages.js');
const { InstanceNamer } = dist('consuming/sample-instance.js');
const { toMeteredSample } = dist('consuming/sample.mapper.js');
const { TenantCatalog } = dist('pricing/tenant-catalog.js');
const { resourcePoint } = dist('sinks/influx-points.js');
const { encodeUsageEvent } = dist('publishing/usage-event.encoder.js');
const contracts = require('../libs/contracts/dist/src/index.js');

const { values: opts } = parseArgs({
  options: {
    samples: { type: 'string', default: '300000' },
    resources: { type: 'string', default: '1000' },
    tenants: { type: 'string', default: '50' },
    partitions: { type: 'string', default: '6' },
    batch: { type: 'string', default: '6500' },
    passes: { type: 'string', default: '3' },
  },
});
const N = Number(opts.samples);
const TENANTS = Number(opts.tenants);
const PASSES = Number(opts.passes);

// The throughput bench's catalog: 50 tenants in three zones on two tiered plans.
const tiers = {
  cpu: [
    { upTo: '100', unitPrice: '0.040' },
    { upTo: '1000', unitPrice: '0.035' },
    { upTo: null, unitPrice: '0.030' },
  ],
  memory: [
    { upTo: '500', unitPrice: '0.0050' },
    { upTo: null, unitPrice: '0.0040' },
  ],
};
const plan = (id, basis, cpu) => ({
  id,
  version: 1,
  currency: 'EUR',
  basis,
  cpuTiers: cpu ? tiers.cpu : null,
  memoryTiers: tiers.memory,
  minimum: '0',
});
const zones = ['UTC', 'Asia/Kolkata', 'America/New_York'];
const tenants = Array.from({ length: TENANTS }, (_, i) => ({
  id: `tenant-${i}`,
  timeZone: zones[i % zones.length],
  currency: 'EUR',
}));
const catalog = new TenantCatalog(
  {
    loadCatalog: () =>
      Promise.resolve({
        tenants,
        plans: [plan('std', 'usage', true), plan('mem', 'max', false)],
        assignments: tenants.map((t, i) => ({
          tenantId: t.id,
          effectiveFromMs: Date.UTC(2026, 0, 1),
          planId: i % 5 === 4 ? 'mem' : 'std',
          planVersion: 1,
        })),
      }),
    loadPricedAssignments: () => Promise.resolve([]),
  },
  { ttlMs: Infinity, defaultTimeZone: 'UTC', defaultCurrency: 'EUR' },
);
await catalog.reload();

// Partition batches as Kafka would hand them over: per key hash, in order, `batch` at a time;
// each record signed by the host it names, as its collector would (ADR 0010).
const master = Buffer.alloc(32, 42);
const hostKeys = contracts.masterKeyLookup([{ keyId: 'k1', key: master }]);
const signers = new Map();
const partitions = Array.from({ length: Number(opts.partitions) }, () => []);
let bytes = 0;
for (const { key, value } of fleetSamples({
  samples: N,
  resources: Number(opts.resources),
  tenants: TENANTS,
})) {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) >>> 0;
  const buffer = Buffer.from(value);
  bytes += buffer.length;
  const keyBytes = Buffer.from(key);
  const host = JSON.parse(value).host;
  let signer = signers.get(host);
  if (signer === undefined) {
    signer = { keyId: 'k1', key: contracts.deriveHostKey(master, host) };
    signers.set(host, signer);
  }
  const auth = contracts.hostAuthHeader(signer, keyBytes, buffer);
  partitions[h % partitions.length].push({ key: keyBytes, value: buffer, auth });
}
const batches = partitions.flatMap((p) => {
  const out = [];
  for (let i = 0; i < p.length; i += Number(opts.batch))
    out.push(p.slice(i, i + Number(opts.batch)));
  return out;
});

const STEPS = ['name', 'decode', 'host MAC', 'fold', 'price', 'events', 'gauge line'];
// The service's defaults (config.ts): every reading checked against what its resource could use.
const rules = {
  maxGapMs: 300_000,
  plausibility: {
    cpuSlackPermille: 1500n,
    cpuToleranceNs: 1_000_000_000n,
    maxCores: 1024,
    maxMemoryBytes: 2n ** 46n,
  },
};
const windowRules = { windowMs: 300_000 };

/** One pass over every batch, from empty states and positions; milliseconds per step. */
function pass() {
  const ms = Object.fromEntries(STEPS.map((s) => [s, 0]));
  const states = new Map();
  // The pricing stage's state per tenant month: its position and its instances' open windows.
  const months = new Map();
  const known = new Map();
  // The processor's one namer, kept across its batches.
  const namer = new InstanceNamer();
  const nothingPoisoned = new Map();
  const ratedAtJson = JSON.stringify(new Date().toISOString());
  let checksum = 0;
  let pieceCount = 0;
  for (const batch of batches) {
    let t = performance.now();
    const lap = (step) => {
      const now = performance.now();
      ms[step] += now - t;
      t = now;
    };
    const named = instancesNamed(batch, nothingPoisoned, namer);
    checksum += named.size;
    lap('name');
    const now = Date.now();
    const samples = [];
    const hosts = [];
    for (const { value } of batch) {
      const decoded = decodeMeteredSample(value);
      if (!decoded.ok) throw new Error(decoded.reason.message);
      const sample = decoded.value;
      if (domain.checkSampleRules(sample, now, 300_000) !== null) throw new Error('a rule');
      samples.push(sample);
      hosts.push(sample.host);
    }
    lap('decode');
    for (let i = 0; i < batch.length; i++) {
      const m = batch[i];
      if (!contracts.verifyHostAuth(m.auth, m.key, m.value, hosts[i], hostKeys).ok) {
        throw new Error('a MAC');
      }
    }
    lap('host MAC');
    // The batch's one pass, as SampleBatchProcessor runs it (domain/batch-fold.ts).
    const { rating, pieces, gauges, sightings } = domain.foldSamples(
      samples,
      states,
      { rules, windows: windowRules, lastSeenStepMs: 300_000 },
      catalog,
      (key) => known.get(key),
    );
    for (const [k, v] of rating.states) states.set(k, v);
    for (const [key, sight] of sightings.seen) {
      const next = domain.afterBatch(known.get(key), sight);
      if (next !== undefined) known.set(key, next);
    }
    checksum += rating.buckets.size;
    lap('fold');
    // The pricing stage: a pass per tenant month over its pieces, in the order rated.
    const byMonth = new Map();
    pieceCount += pieces.length;
    for (const piece of pieces) {
      const key = domain.positionKey(piece.tenantId, piece.period);
      let list = byMonth.get(key);
      if (list === undefined) byMonth.set(key, (list = []));
      list.push(piece);
    }
    const closed = [];
    for (const [key, list] of byMonth) {
      const { tenantId, period } = list[0];
      const month = months.get(key) ?? { position: null, open: new Map() };
      const priced = domain.priceMonth(
        list,
        tenantId,
        period,
        month.position,
        month.open,
        catalog.pricing,
        windowRules,
      );
      if (priced.position !== null) month.position = priced.position;
      for (const [k, w] of priced.open) {
        if (w === null) month.open.delete(k);
        else month.open.set(k, w);
      }
      months.set(key, month);
      closed.push(...priced.closed);
    }
    lap('price');
    for (const u of closed) checksum += encodeUsageEvent(u, ratedAtJson).length;
    lap('events');
    for (const g of gauges) checksum += resourcePoint(g).line.length;
    lap('gauge line');
  }
  return { ms, checksum, pieces: pieceCount };
}

/** The baseline: JSON.parse of the same bytes (as text), nothing else. */
function baseline() {
  const t = performance.now();
  let n = 0;
  for (const batch of batches)
    for (const b of batch) n += JSON.parse(b.value.toString('utf8')).schema.length;
  if (n === 0) throw new Error('nothing parsed');
  return performance.now() - t;
}

/**
 * The contract's way to the same samples (decodeSampleFast: JSON.parse and the schema's rules, then
 * the mapper): what rating's byte reader replaces for collectors' samples.
 */
function contractDecode() {
  const t = performance.now();
  let n = 0;
  for (const batch of batches)
    for (const b of batch) n += toMeteredSample(decodeSampleFast(b.value).value).observedAtMs > 0;
  if (n === 0) throw new Error('nothing decoded');
  return performance.now() - t;
}

/** The pre-scan without the namer's memory: nameInstance searching each message's bytes. */
function namePlain() {
  const t = performance.now();
  let n = 0;
  for (const batch of batches) n += instancesNamed(batch, new Map()).size;
  if (n === 0) throw new Error('nothing named');
  return performance.now() - t;
}

const perSample = (ms) => (ms * 1000) / N;
const fmtInt = (n) => n.toLocaleString('en-US');
const runs = [];
const bases = [];
const contractRuns = [];
const plainNameRuns = [];
for (let i = 0; i < PASSES + 1; i++) {
  // The first pass warms the JIT up and is not counted.
  const r = pass();
  const b = baseline();
  const c = contractDecode();
  const p = namePlain();
  if (i > 0) {
    runs.push(r);
    bases.push(b);
    contractRuns.push(c);
    plainNameRuns.push(p);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const stepUs = Object.fromEntries(
  STEPS.map((s) => [s, perSample(median(runs.map((r) => r.ms[s])))]),
);
const totalUs = STEPS.reduce((a, s) => a + stepUs[s], 0);
const baseUs = perSample(median(bases));
const contractUs = perSample(median(contractRuns));
const plainNameUs = perSample(median(plainNameRuns));
console.log(`
rating's own steps, ${N.toLocaleString('en-US')} samples (${(bytes / N).toFixed(0)} B each), ${batches.length} batches, median of ${PASSES} passes
${STEPS.map((s) => `  ${s.padEnd(11)} ${stepUs[s].toFixed(2).padStart(6)} µs/sample${s === 'price' ? `  (${((stepUs.price * N) / runs[0].pieces).toFixed(2)} µs a piece: ${fmtInt(runs[0].pieces)} pieces, one per instance and usage window of a batch)` : ''}`).join('\n')}
  all steps   ${totalUs.toFixed(2).padStart(6)} µs/sample  (${(1e6 / totalUs).toLocaleString('en-US', { maximumFractionDigits: 0 })} samples/s on one core); without the MAC (HOST_AUTH off) ${(totalUs - stepUs['host MAC']).toFixed(2)}, beyond decoding ${(totalUs - stepUs['host MAC'] - stepUs.decode).toFixed(2)}
  baseline    ${baseUs.toFixed(2).padStart(6)} µs/sample  JSON.parse of the same bytes; steps / baseline ${(totalUs / baseUs).toFixed(1)}
  contract's  ${contractUs.toFixed(2).padStart(6)} µs/sample  decode the contract's way (JSON.parse, its rules, the mapper); rating's byte reader ×${(stepUs.decode / contractUs).toFixed(2)} of it
  name, no memory ${plainNameUs.toFixed(2).padStart(6)} µs/sample  the pre-scan with nameInstance alone (each message's bytes searched); the namer ×${(stepUs.name / plainNameUs).toFixed(2)} of it`);
