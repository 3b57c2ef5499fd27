import { type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveHostKey, verifyHostAuth, masterKeyLookup } from '@metering/contracts';
import { fileHostSigner, hostKeyFileFromEnv, hostKeysFromEnv } from './host-auth.config';

const dir = mkdtempSync(join(tmpdir(), 'host-auth-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(text: string): string {
  const path = join(dir, `f${n++}`);
  writeFileSync(path, text);
  return path;
}
// 32 random-looking bytes (secretWeakness accepts them in production).
const STRONG = '3f9c2b7e81d04a6f5c19e8b2d7a30f64c8e1b95d2a7f0c3e6b4d81a92f5e7c03';
const STRONG2 = 'a81f3c9e0b7d52e4f6a1c83b9d0e27f5146c8ab3e92d0f7c5b1a6e48d3f9c207';

test('HOST_AUTH: off, required, unset; production needs a key file', () => {
  assert.equal(hostKeysFromEnv({}), null);
  assert.equal(hostKeysFromEnv({ HOST_AUTH: 'off' }), null);
  assert.equal(hostKeysFromEnv({ HOST_AUTH: 'off', NODE_ENV: 'production' }), null);
  assert.throws(
    () => hostKeysFromEnv({ HOST_AUTH: 'required' }),
    /HOST_AUTH_KEYS_FILE: required with HOST_AUTH=required/,
  );
  assert.throws(
    () => hostKeysFromEnv({ NODE_ENV: 'production' }),
    /HOST_AUTH_KEYS_FILE: required with NODE_ENV=production/,
  );
  assert.throws(
    () => hostKeyFileFromEnv({ NODE_ENV: 'production' }),
    /HOST_AUTH_KEY_FILE: required with NODE_ENV=production/,
  );
  assert.throws(() => hostKeysFromEnv({ HOST_AUTH: 'yes' }), /HOST_AUTH: must be required or off/);
  assert.throws(
    () => hostKeysFromEnv({ HOST_AUTH: 'off', HOST_AUTH_KEYS_FILE: file(`k ${STRONG}`) }),
    /HOST_AUTH: off contradicts/,
  );
  const lookup = hostKeysFromEnv({ HOST_AUTH_KEYS_FILE: file(`a ${STRONG}\nb ${STRONG2}\n`) });
  assert.ok(lookup !== null);
  assert.deepEqual(
    (lookup('b', 'h') as KeyObject).export(),
    deriveHostKey(Buffer.from(STRONG2, 'hex'), 'h'),
  );
});

test('key files: unreadable, NUL path, huge, weak in production are named errors', () => {
  assert.throws(
    () => hostKeysFromEnv({ HOST_AUTH_KEYS_FILE: join(dir, 'missing') }),
    /HOST_AUTH_KEYS_FILE: cannot read .*ENOENT/,
  );
  assert.throws(() => hostKeysFromEnv({ HOST_AUTH_KEYS_FILE: 'a\u0000b' }), /NUL/);
  assert.throws(
    () => hostKeysFromEnv({ HOST_AUTH_KEYS_FILE: file('#'.repeat(2_000_000)) }),
    /larger than/,
  );
  const weak = file(`k ${'00'.repeat(32)}\n`);
  assert.ok(hostKeysFromEnv({ HOST_AUTH_KEYS_FILE: weak }) !== null, 'allowed outside production');
  assert.throws(
    () => hostKeysFromEnv({ HOST_AUTH_KEYS_FILE: weak, NODE_ENV: 'production' }),
    /key id "k" refused with NODE_ENV=production/,
  );
  const dev = file(`DEV-ONLY-insecure ${STRONG}\n`);
  assert.ok(hostKeysFromEnv({ HOST_AUTH_KEYS_FILE: dev }) !== null);
  assert.throws(
    () => hostKeysFromEnv({ HOST_AUTH_KEYS_FILE: dev, NODE_ENV: 'production' }),
    /key id "DEV-ONLY-insecure" refused with NODE_ENV=production: its key id marks a published development key/,
  );
  assert.throws(
    () => hostKeyFileFromEnv({ HOST_AUTH_KEY_FILE: file(`a ${STRONG}\nb ${STRONG2}`) }),
    /holds one key, found 2/,
  );
});

test('a collector signs with its key and picks up a rotated key file; a bad rotation keeps the last good key', () => {
  const path = file(`k1 ${STRONG}\n`);
  const setting = hostKeyFileFromEnv({ HOST_AUTH_KEY_FILE: path });
  assert.ok(setting !== null);
  let now = 0;
  const errors: unknown[] = [];
  const signer = fileHostSigner(setting, {
    now: () => now,
    recheckMs: 1_000,
    onReloadError: (e) => errors.push(e),
  });
  const masters = masterKeyLookup([
    { keyId: 'k1', key: Buffer.from(STRONG, 'hex') },
    { keyId: 'k2', key: Buffer.from(STRONG2, 'hex') },
  ]);
  // The host key is what `rating host-key` derives; the file here holds it directly.
  const hostKey = (master: string): string =>
    deriveHostKey(Buffer.from(master, 'hex'), 'h').toString('hex');
  writeFileSync(path, `k1 ${hostKey(STRONG)}\n`);
  now = 2_000;
  const k = Buffer.from('r');
  const v = Buffer.from('v');
  const first = signer.headers(k, v)['metering-host-auth'];
  assert.match(first ?? '', /^v1 k1 /);
  assert.ok(verifyHostAuth(first, k, v, 'h', masters).ok);

  writeFileSync(path, `k2 ${hostKey(STRONG2)}\n`);
  assert.match(
    signer.headers(k, v)['metering-host-auth'] ?? '',
    /^v1 k1 /,
    'not re-read before recheckMs',
  );
  now = 4_000;
  const rotated = signer.headers(k, v)['metering-host-auth'];
  assert.match(rotated ?? '', /^v1 k2 /);
  assert.ok(verifyHostAuth(rotated, k, v, 'h', masters).ok);

  writeFileSync(path, 'k3 not-hex\n');
  now = 6_000;
  assert.match(signer.headers(k, v)['metering-host-auth'] ?? '', /^v1 k2 /);
  assert.equal(errors.length, 1);
  assert.doesNotMatch(String(errors[0]), /not-hex/);
});
