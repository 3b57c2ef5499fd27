// The CPU rate of one resource over a window, as the kernel counts it (libvirt's cpu.time of a
// domain, the cgroup's usage of a container) and as each agent reported it (our collector's
// samples on Kafka, collectd's csv): what bench/agents-side-by-side.mjs compares the agents on.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { localInfra } from '@metering/testing';

/** Cores: the counter's growth (ns) over the time between two readings. */
export const rate = (a, b) => (b.ns - a.ns) / 1e9 / ((b.atMs - a.atMs) / 1000);

/** libvirt's cpu.time of a domain, in ns. */
export function domainCpuNs(uri, name) {
  const out = spawnSync('virsh', ['-c', uri, 'domstats', '--cpu-total', name], {
    encoding: 'utf8',
  });
  const m = /cpu\.time=(\d+)/.exec(out.stdout);
  if (m === null) throw new Error(`virsh domstats ${name}: ${out.stderr}`);
  return { ns: Number(m[1]), atMs: Date.now() };
}

/** The cgroup's CPU usage of a container's main process, in ns (v2 usage_usec, v1 cpuacct). */
export function cgroupCpuNs(pid) {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  const v2 = lines.find((l) => l.startsWith('0::'));
  const v1 = lines.find((l) => /:(?:[^:]*,)?cpuacct(?:,[^:]*)?:/.test(l));
  if (v1 !== undefined) {
    const path = v1.split(':')[2];
    for (const mount of ['/sys/fs/cgroup/cpu,cpuacct', '/sys/fs/cgroup/cpuacct']) {
      try {
        const ns = Number(readFileSync(join(mount, path, 'cpuacct.usage'), 'utf8'));
        return { ns, atMs: Date.now() };
      } catch {
        // try the next mount point
      }
    }
  }
  if (v2 !== undefined) {
    const stat = readFileSync(join('/sys/fs/cgroup', v2.slice(3), 'cpu.stat'), 'utf8');
    const usec = Number(/^usage_usec (\d+)/m.exec(stat)?.[1]);
    return { ns: usec * 1000, atMs: Date.now() };
  }
  throw new Error(`no cpu cgroup for pid ${pid}`);
}

/**
 * The CPU rate (cores) our collector's samples of one resource show over the window: every
 * sample on `topic` read back by a consumer group of its own (`groupPrefix`-…).
 */
export async function ourRate(topic, groupPrefix, match, fromMs, toMs) {
  const kafka = new kafkajs.Kafka({
    brokers: localInfra.kafkaBrokers,
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: `${groupPrefix}-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const samples = [];
  const remaining = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  for (const [p, high] of remaining) if (high === 0n) remaining.delete(p);
  await new Promise((resolveRun, rejectRun) => {
    const timer = setTimeout(resolveRun, 30_000);
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          const s = JSON.parse(message.value.toString('utf8'));
          const at = Date.parse(s.observedAt);
          if (match(s) && at >= fromMs && at <= toMs) {
            samples.push({ ns: Number(s.cpu.usageNs), atMs: at });
          }
          if (BigInt(message.offset) + 1n >= (remaining.get(partition) ?? 0n)) {
            remaining.delete(partition);
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolveRun();
            }
          }
        },
      })
      .catch(rejectRun);
  });
  await consumer.disconnect();
  samples.sort((a, b) => a.atMs - b.atMs);
  if (samples.length < 2) return { rate: Number.NaN, samples: samples.length };
  return { rate: rate(samples[0], samples.at(-1)), samples: samples.length };
}

/** collectd's csv of the virt plugin: raw cpu counter (ns) per line; the rate inside the window. */
export function collectdRate(csvDir, domain, fromMs, toMs) {
  const points = [];
  try {
    const dir = join(csvDir, domain, 'virt');
    for (const file of readdirSync(dir).filter((x) => x.startsWith('virt_cpu_total'))) {
      for (const line of readFileSync(join(dir, file), 'utf8').split('\n').slice(1)) {
        const [epoch, value] = line.split(',');
        const atMs = Number(epoch) * 1000;
        if (Number.isFinite(atMs) && atMs >= fromMs - 1000 && atMs <= toMs + 1000)
          points.push({ ns: Number(value), atMs });
      }
    }
  } catch {
    return Number.NaN;
  }
  points.sort((a, b) => a.atMs - b.atMs);
  return points.length >= 2 ? rate(points[0], points.at(-1)) : Number.NaN;
}
