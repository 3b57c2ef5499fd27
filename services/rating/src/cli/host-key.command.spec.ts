import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  hostAuthHeader,
  masterKeyLookup,
  parseHostKeyFile,
  verifyHostAuth,
} from '@metering/contracts';
import { main } from './rating.cli';

const dir = mkdtempSync(join(tmpdir(), 'host-key-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const OLD = '11'.repeat(32);
const NEW = '7a'.repeat(32);
const masters = join(dir, 'masters');
writeFileSync(masters, `old ${OLD}\nnew ${NEW}\n`);

async function run(argv: string[], keysFile: string | null = masters) {
  const saved = process.env.HOST_AUTH_KEYS_FILE;
  if (keysFile === null) delete process.env.HOST_AUTH_KEYS_FILE;
  else process.env.HOST_AUTH_KEYS_FILE = keysFile;
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  try {
    const code = await main(['host-key', ...argv], { out, err });
    return {
      code,
      out: Buffer.concat(chunks.out).toString(),
      err: Buffer.concat(chunks.err).toString(),
    };
  } finally {
    if (saved === undefined) delete process.env.HOST_AUTH_KEYS_FILE;
    else process.env.HOST_AUTH_KEYS_FILE = saved;
  }
}

test("prints a host's key under the newest master key, or the one --key-id names; rating verifies its MACs", async () => {
  const lookup = masterKeyLookup(parseHostKeyFile(`old ${OLD}\nnew ${NEW}`));
  for (const [argv, keyId] of [
    [['Ωμέγα-node-7'], 'new'],
    [['Ωμέγα-node-7', '--key-id', 'old'], 'old'],
  ] as const) {
    const r = await run([...argv]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^${keyId} [0-9a-f]{64}\\n$`));
    const [hostKey] = parseHostKeyFile(r.out);
    const k = Buffer.from('ctr');
    const v = Buffer.from('{}');
    assert.ok(verifyHostAuth(hostAuthHeader(hostKey!, k, v), k, v, 'Ωμέγα-node-7', lookup).ok);
    assert.equal(verifyHostAuth(hostAuthHeader(hostKey!, k, v), k, v, 'node-7', lookup).ok, false);
  }
});

test('bad arguments are exit 2 with the usage; a bad or missing key file is exit 1, naming it', async () => {
  for (const argv of [
    [],
    ['a', 'b'],
    ['--key-id'],
    ['--force', 'h'],
    ['h\u0000'],
    ['h\u0007'],
    ['h'.repeat(254)],
    [''],
  ]) {
    const r = await run(argv);
    assert.equal(r.code, 2, JSON.stringify(argv));
    assert.match(r.err, /usage: npm run rating -- host-key/);
    assert.equal(r.out, '');
  }
  const none = await run(['h'], null);
  assert.equal(none.code, 2);
  assert.match(none.err, /HOST_AUTH_KEYS_FILE must name/);
  const unknown = await run(['h', '--key-id', 'gone']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /key id "gone" is not in the master keys/);
  const bad = join(dir, 'bad');
  writeFileSync(bad, 'k1 1234\n');
  const short = await run(['h'], bad);
  assert.equal(short.code, 1);
  assert.match(short.err, /HOST_AUTH_KEYS_FILE: line 1: the secret must be 32 to 1024 bytes/);
  assert.equal(short.out, '');
  const missing = await run(['h'], join(dir, 'missing'));
  assert.equal(missing.code, 1);
  assert.match(missing.err, /cannot read .*ENOENT/);
});
