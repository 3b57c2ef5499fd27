// The input of bench/rating-throughput.mjs and the references rating is measured against:
// producing the fleet's samples with kcat (signed by their hosts with --host-auth: kafkajs), (a) kcat reading them raw, (b) a no-op kafkajs
// consumer and (b') the same decoding every sample, and how the tenants spread over partitions.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  HOST_AUTH_HEADER,
  deriveHostKey,
  hostAuthHeader,
  masterKeyLookup,
  parseHostKeyFile,
  verifyHostAuth,
} from '@metering/contracts';
import { threadCpuSeconds } from '@metering/testing';
import kafkajs from 'kafkajs';
import { BROKERS } from '../rating-process.mjs';
import { fleetSamples } from '../sample-stream.mjs';

const root = join(import.meta.dirname, '..', '..');

/**
 * The fleet's samples (bench/sample-stream.mjs; `fleet`: { samples, resources, tenants })
 * streamed into kcat, onto `topic`; with `part` ({ of, index }), only those of the resources whose
 * index is `index` modulo `of` (one of `of` fleets sharing nothing: their tenants differ too when
 * `of` divides the tenants).
 */
export async function produceSamples(topic, fleet, part = { of: 1, index: 0 }, keysFile = null) {
  if (keysFile !== null) return produceSigned(topic, fleet, part, keysFile);
  const kcat = spawn('kcat', ['-P', '-b', BROKERS[0], '-t', topic, '-K', '\t', '-z', 'none'], {
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  const exited = new Promise((resolve, reject) =>
    kcat.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`kcat -P exited ${code}`)),
    ),
  );
  let count = 0;
  let bytes = 0;
  let chunk = [];
  for (const { key, value } of fleetPart(fleet, part)) {
    chunk.push(`${key}\t${value}\n`);
    bytes += value.length;
    count += 1;
    if (chunk.length >= 5_000) {
      if (!kcat.stdin.write(chunk.join('')))
        await new Promise((res) => kcat.stdin.once('drain', res));
      chunk = [];
    }
  }
  kcat.stdin.end(chunk.join(''));
  await exited;
  return { count, bytes };
}

/** The fleet's samples of the resources whose index is `part.index` modulo `part.of`. */
function* fleetPart(fleet, part) {
  for (const sample of fleetSamples(fleet)) {
    if (sample.resource % part.of === part.index) yield sample;
  }
}

/**
 * produceSamples as the collectors publish in production (ADR 0010): each sample with its host's
 * MAC in the metering-host-auth header, under a key derived from the first master key of
 * `keysFile` (rating's HOST_AUTH_KEYS_FILE). kcat cannot give each message its own header, so a
 * kafkajs producer sends them (not measured).
 */
async function produceSigned(topic, fleet, part, keysFile) {
  const [master] = parseHostKeyFile(readFileSync(keysFile, 'utf8'));
  const signers = new Map();
  const client = new kafkajs.Kafka({
    clientId: 'bench-producer',
    brokers: BROKERS,
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const producer = client.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  let count = 0;
  let bytes = 0;
  let chunk = [];
  const flush = async () => {
    if (chunk.length > 0) await producer.send({ topic, acks: 1, messages: chunk });
    chunk = [];
  };
  try {
    for (const { key, value, host } of fleetPart(fleet, part)) {
      let signer = signers.get(host);
      if (signer === undefined) {
        signer = { keyId: master.keyId, key: deriveHostKey(master.key, host) };
        signers.set(host, signer);
      }
      const keyBytes = Buffer.from(key);
      const valueBytes = Buffer.from(value);
      chunk.push({
        key: keyBytes,
        value: valueBytes,
        headers: { [HOST_AUTH_HEADER]: hostAuthHeader(signer, keyBytes, valueBytes) },
      });
      bytes += valueBytes.length;
      count += 1;
      // At most ~0.6 MB a send even when one partition gets all of it: under the broker's
      // largest batch (1 MB).
      if (chunk.length >= 1_000) await flush();
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
  return { count, bytes };
}

/** (a): kcat reading every message of `topic` raw; how many, in how many seconds. */
export async function kcatRead(topic) {
  const t = performance.now();
  const lines = await run('sh', [
    '-c',
    `kcat -C -b ${BROKERS[0]} -t ${topic} -e -q -o beginning | wc -l`,
  ]);
  return {
    count: Number(lines.trim()),
    text: lines.trim(),
    seconds: (performance.now() - t) / 1000,
  };
}

/**
 * (b), (b') and (b''): a kafkajs consumer that only counts `total` messages of `fromTopic`
 * (`decoder` 'none'), or also decodes each sample as rating does ('rating') or as rating did when
 * issue 19 was filed ('contract': the contract's decoder and the mapper); prints its seconds, and the samples, seconds
 * and CPU seconds of its main thread and of the others (V8's collector, libuv) after its first
 * batch was done, as JSON. Runs in
 * a process of its own (rating-throughput.mjs --noop-consumer).
 */
export async function noopConsumer(fromTopic, total, decoder, keysFile = null) {
  // With the master keys (--host-auth): each sample's MAC checked too, as rating checks it.
  const lookup =
    keysFile === null ? null : masterKeyLookup(parseHostKeyFile(readFileSync(keysFile, 'utf8')));
  const { decodeMeteredSample, decodeMeteredSampleByContract } = await import(
    join(root, 'services/rating/dist/src/consuming/sample.decoder.js')
  );
  // 'contract': (b'') the decoder of the day issue 19 was filed, the contract's way then the mapper.
  const decodeOne = decoder === 'contract' ? decodeMeteredSampleByContract : decodeMeteredSample;
  let decoded = 0;
  const client = new kafkajs.Kafka({
    clientId: 'noop',
    brokers: BROKERS,
    logLevel: kafkajs.logLevel.NOTHING,
  });
  // A group of its own (the process's id): (b') runs twice, and a group reads on from its offsets.
  const consumer = client.consumer({
    groupId: `${fromTopic}-${decoder}-${process.pid}`,
    maxBytesPerPartition: 4_194_304,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: fromTopic, fromBeginning: true });
  const t0 = performance.now();
  let first = 0;
  // When the first batch was done, how many messages were by then, and the CPU so far: the rate
  // and the CPU a sample count from there, as (c)'s count from its first commit.
  let firstDone = 0;
  let nAtFirstDone = 0;
  let cpuAtFirst;
  let n = 0;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  await consumer.run({
    partitionsConsumedConcurrently: 2,
    eachBatch: async ({ batch }) => {
      if (first === 0) first = performance.now();
      if (decoder !== 'none') {
        for (const m of batch.messages) {
          const r = decodeOne(m.value);
          if (!r.ok || r.value.cpuUsageNs < 0n) continue;
          if (lookup !== null) {
            const auth = verifyHostAuth(
              m.headers[HOST_AUTH_HEADER],
              m.key,
              m.value,
              r.value.host,
              lookup,
            );
            if (!auth.ok) continue;
          }
          decoded += 1;
        }
      }
      n += batch.messages.length;
      if (firstDone === 0) {
        firstDone = performance.now();
        nAtFirstDone = n;
        cpuAtFirst = threadCpuSeconds(process.pid);
      }
      if (n >= total) done();
    },
  });
  await finished;
  const t1 = performance.now();
  const cpu = threadCpuSeconds(process.pid);
  const sum = (xs) => xs.reduce((s, x) => s + x, 0);
  await consumer.disconnect();
  if (decoder !== 'none' && decoded !== total)
    throw new Error(`decoded ${decoded} of ${total} samples`);
  console.log(
    JSON.stringify({
      seconds: (t1 - t0) / 1000,
      joinSeconds: (first - t0) / 1000,
      // After the first batch: the samples and seconds the rate is of (as (c)'s, after its first
      // commit: neither counts the group's join nor the first batch's wait for it).
      steadySamples: total - nAtFirstDone,
      steadySeconds: (t1 - firstDone) / 1000,
      mainCpuSeconds: cpu.main - cpuAtFirst.main,
      otherCpuSeconds: sum(cpu.others) - sum(cpuAtFirst.others),
    }),
  );
}

/**
 * On how many partitions each tenant has resources (read back with kcat: the producer's
 * partitioner decided): the scale-out run needs a tenant on every partition.
 */
export async function tenantSpread(topic, tenants, partitions) {
  const out = await run('sh', [
    '-c',
    `kcat -C -b ${BROKERS[0]} -t ${topic} -e -q -o beginning -f '%p %k\\n' | sort -u`,
  ]);
  const partitionsOf = new Map();
  for (const line of out.split('\n')) {
    const [p, key] = line.split(' ');
    if (key === undefined) continue;
    // sample-stream.mjs: resource r is "ctr-<hex r>" or "vm-<hex r>", of tenant r % tenants.
    const tenant = parseInt(key.slice(key.indexOf('-') + 1), 16) % tenants;
    if (!partitionsOf.has(tenant)) partitionsOf.set(tenant, new Set());
    partitionsOf.get(tenant).add(p);
  }
  const counts = [...partitionsOf.values()].map((s) => s.size);
  const everywhere = counts.filter((n) => n === partitions).length;
  return `${everywhere} of ${partitionsOf.size} tenants own resources on every one of the ${partitions} partitions (the fewest: ${Math.min(...counts)})`;
}

/** Runs `cmd`; its stdout when it exits 0. */
export function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}`)),
    );
  });
}
