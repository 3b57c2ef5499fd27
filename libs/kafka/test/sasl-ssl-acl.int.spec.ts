import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type Kafka, type Producer } from 'kafkajs';
import { createRootLogger } from '@metering/observability';
import { uniqueName, waitFor } from '@metering/testing';
import { KafkaClientFactory, kafkaConfigFromEnv } from '../src/index';

// The local stack's SASL_SSL listener (infra/local/kafka.sh, kafka/security.sh): who may connect
// and what each component's principal may do. Needs the stack's certificates, users and ACLs
// (`stack.sh up --infra` creates them). Another broker: KAFKA_SASL_BROKERS, STACK_DIR, and the
// KAFKA_PORT / KAFKA_SASL_PORT / KAFKA_LIBS kafka.sh reads for `rotate`.
//
// The ACLs are on the real topic names, so the probes a host principal produces land in
// metering.samples.v1 (a local stack's rating dead-letters them: they are not samples).
const REPO_ROOT = resolve(__dirname, '../../../..');
const STACK_DIR = process.env.STACK_DIR ?? join(REPO_ROOT, '.stack');
const SASL_BROKERS = process.env.KAFKA_SASL_BROKERS ?? '127.0.0.1:9094';
const CA_FILE = join(STACK_DIR, 'kafka', 'tls', 'ca.crt');
const passwordFile = (user: string): string => join(STACK_DIR, 'secrets', `kafka-${user}.password`);
/** What the collectors put in `host` (HOST_NAME, default os.hostname()) names their principal. */
const HOST = `host.${hostname()}`;
const SAMPLES = 'metering.samples.v1';
const USAGE = 'billing.usage.v1';
const DLQ = 'metering.samples.dlq.v1';
const BOUND_MS = 20_000;
const DENIED = /not authorized|authorization|Authorization/;

const logger = createRootLogger({ level: 'silent', serviceName: 'sasl-acl-test' });
const opened: { disconnect: () => Promise<void> }[] = [];
after(async () => {
  for (const client of opened.reverse()) await client.disconnect().catch(() => undefined);
});

/** A client factory as a service makes it, from the settings stack.env gives it. */
function client(env: Record<string, string>): KafkaClientFactory {
  return new KafkaClientFactory(
    kafkaConfigFromEnv(
      {
        KAFKA_BROKERS: SASL_BROKERS,
        KAFKA_CONNECTION_TIMEOUT_MS: '3000',
        KAFKA_REQUEST_TIMEOUT_MS: '5000',
        KAFKA_RETRY_INITIAL_MS: '100',
        KAFKA_RETRY_MAX_MS: '500',
        KAFKA_RETRIES: '1',
        ...env,
      },
      { clientId: uniqueName('sasl-acl').replace(/_/g, '-') },
    ),
    { logger },
  );
}

function as(user: string, extra: Record<string, string> = {}): KafkaClientFactory {
  return client({
    KAFKA_TLS: 'true',
    KAFKA_TLS_CA_FILE: CA_FILE,
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: user,
    ...(extra.KAFKA_SASL_PASSWORD === undefined
      ? { KAFKA_SASL_PASSWORD_FILE: passwordFile(user) }
      : {}),
    ...extra,
  });
}

async function producer(kafka: Kafka): Promise<Producer> {
  const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 2 } });
  opened.push(p);
  await p.connect();
  return p;
}

/** The error `run` ends with (fails the test if it succeeds, or takes longer than BOUND_MS). */
async function refused(what: string, run: () => Promise<unknown>): Promise<string> {
  const started = performance.now();
  try {
    await run();
  } catch (error) {
    const ms = performance.now() - started;
    assert.ok(ms < BOUND_MS, `${what}: refused only after ${Math.round(ms)} ms`);
    assert.ok(error instanceof Error, String(error));
    return `${error.name}: ${error.message}`;
  }
  assert.fail(`${what}: allowed`);
}

const probe = (
  n: number,
  run: string,
): { key: string; value: string; headers: Record<string, string> } => ({
  key: 'sasl-acl-probe',
  value: `not a sample: ${run} #${n}`,
  headers: { 'test.run': run, 'test.seq': String(n) },
});

test('the local CA signed the broker certificate for 127.0.0.1 and localhost; keys and passwords are 0600', () => {
  const tls = join(STACK_DIR, 'kafka', 'tls');
  const ca = new X509Certificate(readFileSync(CA_FILE));
  const broker = new X509Certificate(readFileSync(join(tls, 'broker.crt')));
  assert.ok(ca.ca, 'ca.crt is a CA');
  assert.ok(broker.checkIssued(ca) && broker.verify(ca.publicKey), 'signed by the local CA');
  assert.ok(!broker.ca);
  assert.ok(broker.checkIP('127.0.0.1') !== undefined, broker.subjectAltName);
  assert.equal(broker.checkHost('localhost'), 'localhost');
  const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);
  for (const key of ['ca.key', 'broker.key', 'broker.pem'])
    assert.equal(mode(join(tls, key)), '600', key);
  assert.equal(mode(join(STACK_DIR, 'secrets')), '700');
  for (const user of ['admin', 'rating', 'billing-api', HOST]) {
    assert.equal(mode(passwordFile(user)), '600', user);
    assert.match(readFileSync(passwordFile(user), 'utf8'), /^[0-9a-f]{64}\n$/);
  }
});

test('TLS without SASL, plaintext, and SASL over TLS without the local CA are refused', async () => {
  const tlsOnly = client({ KAFKA_TLS: 'true', KAFKA_TLS_CA_FILE: CA_FILE }).createAdmin();
  opened.push(tlsOnly);
  const noSasl = await refused('TLS, no SASL', async () => {
    await tlsOnly.connect();
    await tlsOnly.partitionCounts([SAMPLES]);
  });
  assert.match(noSasl, /Connection|closed|disconnected|SASL|socket/i);

  const plain = client({}).createAdmin();
  opened.push(plain);
  const plaintext = await refused('plaintext', async () => {
    await plain.connect();
    await plain.partitionCounts([SAMPLES]);
  });
  assert.match(plaintext, /Connection|closed|disconnected|timeout|socket/i);

  // The right password, but the broker's certificate checked against Node's public CAs.
  const untrusted = client({
    KAFKA_TLS: 'true',
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: HOST,
    KAFKA_SASL_PASSWORD_FILE: passwordFile(HOST),
  }).createAdmin();
  opened.push(untrusted);
  assert.match(
    await refused('TLS without the CA', () => untrusted.connect()),
    /certificate|self.signed|issuer|Connection/i,
  );
});

test('a wrong password, an unknown user and a password of another user are refused', async () => {
  const wrong = 'Wq7-not-the-password-Zx4Lm9Kd2Pn8Vb5Hc3';
  for (const [user, password] of [
    [HOST, wrong],
    ['nobody-such', wrong],
    [HOST, readFileSync(passwordFile('rating'), 'utf8').trim()],
  ] as const) {
    const admin = as(user, { KAFKA_SASL_PASSWORD: password }).createAdmin();
    opened.push(admin);
    const message = await refused(`${user} with a wrong password`, () => admin.connect());
    assert.match(message, /SASL|authentication/i);
    assert.ok(!message.includes(password), 'the password is not in the error');
  }
});

test('a host principal produces samples, and cannot read usage nor write usage or the DLQ', async () => {
  const host = as(HOST);
  const p = await producer(host.kafka);
  const run = randomUUID();
  const [sent] = await p.send({ topic: SAMPLES, acks: -1, messages: [probe(0, run)] });
  assert.equal(sent?.errorCode, 0);

  for (const topic of [USAGE, DLQ]) {
    const message = await refused(`${HOST} writes ${topic}`, () =>
      p.send({ topic, acks: -1, messages: [probe(1, run)] }),
    );
    assert.match(message, DENIED);
  }
  const admin = host.kafka.admin();
  opened.push(admin);
  await admin.connect();
  assert.match(await refused('describe usage', () => admin.fetchTopicOffsets(USAGE)), DENIED);
  const consumer = host.kafka.consumer({ groupId: uniqueName('host_reads_usage') });
  opened.push(consumer);
  await consumer.connect();
  assert.match(
    await refused('subscribe to usage', () => consumer.subscribe({ topics: [USAGE] })),
    DENIED,
  );
});

test('rating cannot write samples; billing-api reads usage but not samples', async () => {
  const rating = as('rating');
  const ratingAdmin = rating.kafka.admin();
  opened.push(ratingAdmin);
  await ratingAdmin.connect();
  // May describe the samples it consumes...
  assert.ok((await ratingAdmin.fetchTopicOffsets(SAMPLES)).length > 0);
  // ...but not publish any.
  const rp = await producer(rating.kafka);
  assert.match(
    await refused('rating writes samples', () =>
      rp.send({ topic: SAMPLES, acks: -1, messages: [probe(0, 'rating')] }),
    ),
    DENIED,
  );

  const billing = as('billing-api');
  const billingAdmin = billing.kafka.admin();
  opened.push(billingAdmin);
  await billingAdmin.connect();
  assert.ok((await billingAdmin.fetchTopicOffsets(USAGE)).length > 0);
  assert.match(
    await refused('billing describes samples', () => billingAdmin.fetchTopicOffsets(SAMPLES)),
    DENIED,
  );
  // Reads usage in its group: joins and is assigned the partitions (commits nothing).
  const reader = billing.kafka.consumer({ groupId: 'billing-api' });
  opened.push(reader);
  let joined = false;
  reader.on(reader.events.GROUP_JOIN, () => {
    joined = true;
  });
  await reader.connect();
  await reader.subscribe({ topics: [USAGE] });
  await reader.run({ autoCommit: false, eachMessage: () => Promise.resolve() });
  await waitFor(() => joined, { timeoutMs: BOUND_MS, description: 'billing-api joins its group' });
  await reader.disconnect();
  const other = billing.kafka.consumer({ groupId: uniqueName('billing_samples') });
  opened.push(other);
  await other.connect();
  assert.match(
    await refused('billing subscribes to samples', () => other.subscribe({ topics: [SAMPLES] })),
    DENIED,
  );
});

test('a host keeps producing while its password is rotated; every message arrives once', async () => {
  const run = randomUUID();
  const bootPassword = readFileSync(passwordFile(HOST), 'utf8').trim();
  const host = as(HOST);
  // Stays connected throughout: an authenticated connection outlives its password.
  const steady = await producer(host.kafka);
  // Reconnects after the rotation: authenticates again, with the password file read anew.
  const reconnecting = await producer(host.kafka);
  const admin = as('admin').kafka.admin();
  opened.push(admin);
  await admin.connect();
  const start = new Map((await admin.fetchTopicOffsets(SAMPLES)).map((o) => [o.partition, o.high]));

  let seq = 0;
  const sendSome = async (p: Producer, n: number): Promise<void> => {
    for (let i = 0; i < n; i += 1) {
      await p.send({ topic: SAMPLES, acks: -1, messages: [probe(seq, run)] });
      seq += 1;
    }
  };
  await sendSome(steady, 20);
  await sendSome(reconnecting, 20);
  // Rotate as an operator does: a new password file (atomic), then the broker's credential.
  await promisify(execFile)('bash', [join(REPO_ROOT, 'infra/local/kafka.sh'), 'rotate', HOST], {
    cwd: REPO_ROOT,
    timeout: 60_000,
    env: { ...process.env, STACK_DIR },
  });
  const rotated = readFileSync(passwordFile(HOST), 'utf8').trim();
  assert.notEqual(rotated, bootPassword, 'kafka.sh rotate wrote a new password');
  await sendSome(steady, 20);
  // A new connection: the client's boot-time config still holds the old password, the file the new.
  await reconnecting.disconnect();
  await reconnecting.connect();
  await sendSome(reconnecting, 20);
  await sendSome(steady, 20);
  // The old password no longer opens a connection: the rotation took effect at the broker.
  const stale = as(HOST, { KAFKA_SASL_PASSWORD: bootPassword }).createAdmin();
  opened.push(stale);
  await waitFor(
    async () => {
      try {
        await stale.connect();
        await stale.disconnect();
        return false;
      } catch {
        return true;
      }
    },
    { timeoutMs: BOUND_MS, description: 'the old password is refused' },
  );

  // Count them from where the topic ended before the first one (as admin: hosts cannot read).
  const seen = new Map<string, number>();
  const groupId = uniqueName('sasl_rotation_count');
  const consumer = as('admin').kafka.consumer({ groupId });
  opened.push(consumer);
  await consumer.connect();
  await consumer.subscribe({ topics: [SAMPLES] });
  await consumer.run({
    autoCommit: false,
    eachMessage: ({ message }) => {
      if (message.headers?.['test.run']?.toString() === run) {
        const n = message.headers['test.seq']?.toString() ?? '?';
        seen.set(n, (seen.get(n) ?? 0) + 1);
      }
      return Promise.resolve();
    },
  });
  for (const [partition, offset] of start) consumer.seek({ topic: SAMPLES, partition, offset });
  await waitFor(() => seen.size >= seq, { timeoutMs: 60_000, description: `${seq} messages` });
  // Duplicates would arrive next to their originals; give them a moment to show.
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(seq, 100);
  assert.equal(seen.size, 100);
  assert.deepEqual(
    [...seen].filter(([, count]) => count !== 1),
    [],
    'every message exactly once',
  );
  await consumer.disconnect();
  await admin.deleteGroups([groupId]).catch(() => undefined);
});
