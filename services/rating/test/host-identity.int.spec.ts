import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type IHeaders } from 'kafkajs';
import {
  HOST_AUTH_HEADER,
  type HostKey,
  type SampleEvent,
  decodeDlq,
  deriveHostKey,
  encode,
  hostAuthHeader,
  sampleIdOf,
} from '@metering/contracts';
import { waitFor } from '@metering/testing';
import { RatingWorld, expectedLedger } from './rating-harness';
import { readTopic } from './topic-reader';

// Per-host identity (ADR 0010) on the real rating process, Kafka and PostgreSQL: only samples
// whose MAC proves the host they name are rated; every other shape of header is dead-lettered
// as HOST_UNVERIFIED; a key added to the master keys later makes a replay of the samples it
// signed go through, with the header the DLQ kept, and nothing else.
const ZONES = { acme: 'UTC' };
const START = Date.UTC(2026, 10, 20, 8, 0, 0);

let world: RatingWorld | undefined;
let dir: string | undefined;
afterEach(async () => {
  await world?.tearDown();
  world = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function series(resourceId: string, host: string, count: number): SampleEvent[] {
  const instanceId = `${resourceId}-i0`;
  const startedAt = new Date(START - 10_000).toISOString();
  return Array.from({ length: count }, (_, i) => {
    const observedAt = new Date(START + i * 10_000).toISOString();
    return {
      schema: 'metering.sample.v1',
      sampleId: sampleIdOf({ source: 'docker', host, resourceId, instanceId, observedAt }),
      source: 'docker',
      host,
      resource: {
        kind: 'container',
        id: resourceId,
        name: resourceId,
        tenantId: 'acme',
        instanceId,
        startedAt,
      },
      observedAt,
      lifecycle: 'running',
      cpu: { usageNs: String(BigInt(i + 1) * 1_000_000_000n), allocationCores: 1 },
      memory: { usageBytes: 2 ** 20 * (10 + i), allocationBytes: 2 ** 30 },
    } satisfies SampleEvent;
  });
}

interface Outgoing {
  key: Buffer;
  value: Buffer;
  headers?: IHeaders;
}

function signed(samples: SampleEvent[], key: HostKey): Outgoing[] {
  return samples.map((s) => {
    const k = Buffer.from(s.resource.id);
    const v = encode(s);
    return { key: k, value: v, headers: { [HOST_AUTH_HEADER]: hostAuthHeader(key, k, v) } };
  });
}

async function produce(w: RatingWorld, messages: Outgoing[]): Promise<void> {
  const producer = w.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic: w.topic, messages });
  await producer.disconnect();
}

async function deadLetters(w: RatingWorld, count: number): Promise<Map<string, string[]>> {
  let records: Awaited<ReturnType<typeof readTopic>> = [];
  await waitFor(
    async () => {
      records = await readTopic(w.kafka, w.dlqTopic);
      return records.length >= count;
    },
    { timeoutMs: 60_000, intervalMs: 500, description: `${count} dead letters` },
  );
  assert.equal(records.length, count);
  const byResource = new Map<string, string[]>();
  for (const r of records) {
    const d = decodeDlq(r.value);
    assert.ok(d.ok);
    const resource = r.key?.toString() ?? '';
    byResource.set(resource, [
      ...(byResource.get(resource) ?? []),
      `${d.value.reason.code}: ${d.value.reason.message}`,
    ]);
  }
  return byResource;
}

describe('per-host identity of samples (ADR 0010)', () => {
  test('only a MAC that proves the named host is rated; every other header is HOST_UNVERIFIED; a key added later lets a replay through', async () => {
    world = new RatingWorld();
    const w = world;
    dir = mkdtempSync(join(tmpdir(), 'host-auth-'));
    const masterOld = randomBytes(32);
    const masterNew = randomBytes(32);
    const masters = join(dir, 'masters');
    writeFileSync(masters, `# rating's master keys\nk2 ${masterNew.toString('hex')}\n`, {
      mode: 0o600,
    });
    const hostKey = (master: Buffer, keyId: string, host: string): HostKey => ({
      keyId,
      key: deriveHostKey(master, host),
    });
    await w.setUp(2, ZONES);

    const ok = series('ctr-ok', 'node-1', 4);
    const fromOtherHostDevice = series('ctr-other', 'node-2', 3);
    const unsigned = series('ctr-unsigned', 'node-1', 2);
    const forged = series('ctr-forged', 'node-1', 2);
    const tampered = series('ctr-tampered', 'node-1', 2);
    const oldKey = series('ctr-oldkey', 'node-1', 3);
    const weird = series('ctr-weird', 'node-1', 6);

    const node1 = hostKey(masterNew, 'k2', 'node-1');
    const node2 = hostKey(masterNew, 'k2', 'node-2');
    const weirdMessages = signed(weird, node1);
    const good = weirdMessages[0]!.headers![HOST_AUTH_HEADER] as string;
    const weirdHeaders: IHeaders[] = [
      { [HOST_AUTH_HEADER]: [good, good] }, // duplicated
      { [HOST_AUTH_HEADER]: `${good}\u0000` }, // NUL
      { [HOST_AUTH_HEADER]: 'v1 k2 ' + 'A'.repeat(10_000) }, // huge
      { [HOST_AUTH_HEADER]: 'v1 ключ AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, // non-ASCII
      { [HOST_AUTH_HEADER]: 'v2 k2 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, // unknown version
      { 'Metering-Host-Auth': good }, // another header's name
    ];
    weirdMessages.forEach((m, i) => (m.headers = weirdHeaders[i]!));

    await produce(w, [
      ...signed(ok, node1),
      ...signed(fromOtherHostDevice, node2),
      ...unsigned.map((s) => ({ key: Buffer.from(s.resource.id), value: encode(s) })),
      // node-2's key claiming node-1: a host publishing for another.
      ...signed(forged, node2),
      // node-1's genuine MAC, the value changed after (memory doubled).
      ...signed(tampered, node1).map((m, i) => ({
        ...m,
        value: encode({ ...tampered[i]!, memory: { ...tampered[i]!.memory, usageBytes: 2 ** 22 } }),
      })),
      // Signed under a key id rating does not hold yet (a rotation done in the wrong order).
      ...signed(oldKey, hostKey(masterOld, 'k1', 'node-1')),
      ...weirdMessages,
    ]);

    const first = w.startRating('a', { HOST_AUTH_KEYS_FILE: masters });
    const refused = 2 + 2 + 2 + 3 + 6;
    const letters = await deadLetters(w, refused);
    await w.waitForCatchUp(60_000);
    assert.deepEqual(await w.ledger(), expectedLedger([...ok, ...fromOtherHostDevice], ZONES));

    const reasons = (resource: string): string[] => letters.get(resource) ?? [];
    for (const [resource, n, why] of [
      ['ctr-unsigned', 2, /no metering-host-auth header/],
      ['ctr-forged', 2, /does not match host "node-1" under key id "k2"/],
      ['ctr-tampered', 2, /does not match host "node-1"/],
      ['ctr-oldkey', 3, /key id "k1" is not one rating holds/],
      ['ctr-weird', 6, /./],
    ] as const) {
      assert.equal(reasons(resource).length, n, resource);
      for (const r of reasons(resource)) {
        assert.match(r, /^HOST_UNVERIFIED: /, resource);
        assert.match(r, why, resource);
      }
    }
    assert.match(reasons('ctr-weird').join('\n'), /2 metering-host-auth headers/);
    assert.match(reasons('ctr-weird').join('\n'), /longer than 128 bytes/);
    // No secret and no MAC is quoted back.
    for (const r of [...letters.values()].flat()) assert.doesNotMatch(r, /[A-Za-z0-9_-]{43}/);

    // The operator adds the old key beside the new one and restarts rating; a replay of the
    // HOST_UNVERIFIED records sends each with the header the DLQ kept: only the k1-signed
    // samples pass, the rest are refused again.
    await w.kill(first, 'SIGTERM');
    writeFileSync(masters, `k1 ${masterOld.toString('hex')}\nk2 ${masterNew.toString('hex')}\n`, {
      mode: 0o600,
    });
    w.startRating('b', { HOST_AUTH_KEYS_FILE: masters });
    const run = await w.runCli(['dlq', 'replay', '--reason', 'HOST_UNVERIFIED', '--yes']);
    assert.equal(run.code, 0, run.stderr);
    const again = await deadLetters(w, refused + refused - oldKey.length);
    assert.equal(again.get('ctr-oldkey')?.length, oldKey.length);
    await w.waitForCatchUp(60_000);
    assert.deepEqual(
      await w.ledger(),
      expectedLedger([...ok, ...fromOtherHostDevice, ...oldKey], ZONES),
    );
  });

  test('rating refuses to boot on a bad master key file, naming the setting', async () => {
    world = new RatingWorld();
    const w = world;
    dir = mkdtempSync(join(tmpdir(), 'host-auth-'));
    await w.setUp(1, ZONES);
    const cases: [string, string, RegExp][] = [
      ['short', 'k1 abcd\n', /HOST_AUTH_KEYS_FILE: .*32 to 1024 bytes/],
      ['nul', `k1 ${'ab'.repeat(32)}\u0000\n`, /HOST_AUTH_KEYS_FILE: .*must be hex digits/],
      ['dup', `k1 ${'ab'.repeat(32)}\nk1 ${'cd'.repeat(32)}\n`, /appears twice/],
      ['empty', '\n# nothing\n', /holds no key/],
    ];
    for (const [name, text, why] of cases) {
      const file = join(dir, name);
      writeFileSync(file, text);
      const child = w.startRating(name, { HOST_AUTH_KEYS_FILE: file });
      const err: Buffer[] = [];
      child.stdout?.on('data', (c: Buffer) => err.push(c));
      child.stderr?.on('data', (c: Buffer) => err.push(c));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.notEqual(code, 0, name);
      assert.match(Buffer.concat(err).toString(), why, name);
    }
    const production = w.startRating('production', { NODE_ENV: 'production' });
    const out: Buffer[] = [];
    production.stdout?.on('data', (c: Buffer) => out.push(c));
    production.stderr?.on('data', (c: Buffer) => out.push(c));
    const code = await new Promise<number | null>((resolve) => production.once('exit', resolve));
    assert.notEqual(code, 0);
    assert.match(
      Buffer.concat(out).toString(),
      /HOST_AUTH_KEYS_FILE: required with NODE_ENV=production/,
    );
  });
});
