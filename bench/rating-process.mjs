// The rating service as a real process for the benchmarks: on a free loopback port, with the
// runtime settings it is deployed with (heap budget, malloc arenas: stack.env, the Dockerfile and
// k8s carry the same), its own ledger schema, consumer group, topics and InfluxDB database.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stackRuntime } from './lib/stack-runtime.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ratingMain = join(root, 'services/rating/dist/src/main.js');

/** The local stack (npm run stack -- --infra), unless the environment names others. */
export const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
export const DATABASE_URL =
  process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/metering';
export const INFLUX_URL = process.env.INFLUX_URL ?? 'http://127.0.0.1:8086';

/** NODE_OPTIONS and MALLOC_ARENA_MAX as services/rating/stack.env sets them. */
export function deployedRuntime() {
  return stackRuntime('rating', ['NODE_OPTIONS', 'MALLOC_ARENA_MAX']);
}

/** `--env K=V` options as an object. */
export function envPairs(list) {
  return Object.fromEntries(
    list.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

/** A free port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * Starts rating (`main`: this checkout's build unless another is named) for run `name` (schema, group, `<name>.dlq`/`<name>.usage` topics, InfluxDB
 * database `name`) consuming `topic`; `env` adds or overrides settings; `stdout: 'pipe'` to read
 * what it prints (bench/lib/gc-trace.mjs).
 */
export function spawnRating({
  name,
  topic,
  port,
  nodeArgs = [],
  env = {},
  main = ratingMain,
  stdout = 'inherit',
}) {
  return spawn(process.execPath, [...nodeArgs, main], {
    env: {
      ...process.env,
      ...deployedRuntime(),
      PORT: String(port),
      LOG_LEVEL: 'warn',
      KAFKA_BROKERS: BROKERS.join(','),
      DATABASE_URL,
      DATABASE_SCHEMA: name,
      RATING_GROUP_ID: `${name}-rating`,
      SAMPLES_TOPIC: topic,
      SAMPLES_DLQ_TOPIC: `${name}.dlq`,
      USAGE_TOPIC: `${name}.usage`,
      INFLUX_URL,
      INFLUX_DATABASE: name,
      ...env,
    },
    stdio: ['ignore', stdout, 'inherit'],
  });
}
