import { type KeyObject } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HOST_AUTH_HEADER,
  type HostKey,
  deriveHostKey,
  hostAuthHeader,
  hostKeyLine,
  masterKeyLookup,
  parseHostKeyFile,
  verifyHostAuth,
} from './host-auth';

const master = Buffer.alloc(32, 7);
const other = Buffer.alloc(32, 9);
const lookup = masterKeyLookup([{ keyId: 'k1', key: master }]);
const key = Buffer.from('ctr-1');
const value = Buffer.from('{"host":"node-1"}');
const node1: HostKey = { keyId: 'k1', key: deriveHostKey(master, 'node-1') };
const header = hostAuthHeader(node1, key, value);

test('a host key differs per host, per master and is stable', () => {
  assert.deepEqual(deriveHostKey(master, 'node-1'), node1.key);
  assert.notDeepEqual(deriveHostKey(master, 'node-2'), node1.key);
  assert.notDeepEqual(deriveHostKey(other, 'node-1'), node1.key);
  // Unicode host names are keyed by their UTF-8 bytes, not confused with look-alikes.
  assert.notDeepEqual(deriveHostKey(master, 'nоde-1'), node1.key);
  assert.equal(node1.key.length, 32);
});

test('the MAC proves host, key and value; every change is refused', () => {
  assert.match(header, /^v1 k1 [A-Za-z0-9_-]{43}$/);
  assert.deepEqual(verifyHostAuth(header, key, value, 'node-1', lookup), { ok: true });
  assert.deepEqual(verifyHostAuth(Buffer.from(header), key, value, 'node-1', lookup), { ok: true });
  const refused = (h: unknown, k: Buffer | null, v: Buffer, host: string): string => {
    const r = verifyHostAuth(h, k, v, host, lookup);
    assert.equal(r.ok, false);
    return r.ok ? '' : r.failure;
  };
  assert.equal(refused(header, key, value, 'node-2'), 'mismatch');
  assert.equal(refused(header, Buffer.from('ctr-2'), value, 'node-1'), 'mismatch');
  assert.equal(refused(header, null, value, 'node-1'), 'mismatch');
  assert.equal(refused(header, key, Buffer.from('{"host":"node-1" }'), 'node-1'), 'mismatch');
  // Key and value are length-framed: moving bytes between them changes the MAC.
  const joined = hostAuthHeader(node1, Buffer.from('ab'), Buffer.from('c'));
  assert.equal(refused(joined, Buffer.from('a'), Buffer.from('bc'), 'node-1'), 'mismatch');
  const byOther = hostAuthHeader({ keyId: 'k1', key: deriveHostKey(other, 'node-1') }, key, value);
  assert.equal(refused(byOther, key, value, 'node-1'), 'mismatch');
  assert.equal(
    refused(hostAuthHeader({ keyId: 'k9', key: node1.key }, key, value), key, value, 'node-1'),
    'unknown-key',
  );
});

test('every shape of header that is not one v1 MAC is refused, never thrown', () => {
  const mac = header.split(' ')[2]!;
  const shapes: [string, unknown][] = [
    ['absent', undefined],
    ['null', null],
    ['duplicated', [header, header]],
    ['empty array', []],
    ['a number', 42],
    ['an object', { v: 1 }],
    ['empty', ''],
    ['NUL', `${header}\u0000`],
    ['huge', `v1 k1 ${'A'.repeat(1_000_000)}`],
    ['non-ASCII key id', `v1 ключ ${mac}`],
    ['another version', `v2 k1 ${mac}`],
    ['extra field', `${header} x`],
    ['tabs', header.replaceAll(' ', '\t')],
    ['short MAC', `v1 k1 ${mac.slice(1)}`],
    ['padded base64', `v1 k1 ${mac}=`],
    ['standard base64 alphabet', `v1 k1 ${mac.replaceAll('-', '+').replaceAll('_', '/')}x`],
  ];
  for (const [name, h] of shapes) {
    const r = verifyHostAuth(h, key, value, 'node-1', lookup);
    assert.equal(r.ok, false, name);
    if (!r.ok) {
      assert.ok(['missing', 'malformed'].includes(r.failure), `${name}: ${r.failure}`);
      assert.ok(r.detail.length < 200, name);
    }
  }
  assert.equal(HOST_AUTH_HEADER, 'metering-host-auth');
});

test('master keys: several during a rotation, each host key derived once', () => {
  const both = masterKeyLookup([
    { keyId: 'old', key: other },
    { keyId: 'new', key: master },
  ]);
  const viaOld = hostAuthHeader({ keyId: 'old', key: deriveHostKey(other, 'h') }, key, value);
  const viaNew = hostAuthHeader({ keyId: 'new', key: deriveHostKey(master, 'h') }, key, value);
  assert.ok(verifyHostAuth(viaOld, key, value, 'h', both).ok);
  assert.ok(verifyHostAuth(viaNew, key, value, 'h', both).ok);
  assert.equal(both('gone', 'h'), null);
  assert.equal(both('new', 'h'), both('new', 'h'), 'cached');
  const tiny = masterKeyLookup([{ keyId: 'k', key: master }], 2);
  for (const host of ['a', 'b', 'c', 'd'])
    assert.deepEqual((tiny('k', host) as KeyObject).export(), deriveHostKey(master, host));
});

test('key files: the lines a file may hold, and a named error for the rest', () => {
  const hex = 'ab'.repeat(32);
  assert.deepEqual(parseHostKeyFile(`# comment\n\nk-1 ${hex}\r\n  k.2\t${hex.toUpperCase()}  \n`), [
    { keyId: 'k-1', key: Buffer.from(hex, 'hex') },
    { keyId: 'k.2', key: Buffer.from(hex, 'hex') },
  ]);
  const line = hostKeyLine({ keyId: 'k1', key: Buffer.from(hex, 'hex') });
  assert.deepEqual(parseHostKeyFile(line), [{ keyId: 'k1', key: Buffer.from(hex, 'hex') }]);
  const bad: [string, string, RegExp][] = [
    ['empty', '', /holds no key/],
    ['only comments', '# a\n#b\n', /holds no key/],
    ['one field', hex, /line 1: must read/],
    ['three fields', `k1 ${hex} x`, /line 1: must read/],
    ['short secret', 'k1 abcd', /32 to 1024 bytes/],
    ['odd digits', `k1 ${hex}a`, /hex digits/],
    ['not hex', `k1 ${'zz'.repeat(32)}`, /hex digits/],
    ['NUL', `k1 ${hex}\u0000`, /hex digits/],
    ['non-ASCII id', `ключ ${hex}`, /key id/],
    ['long id', `${'k'.repeat(33)} ${hex}`, /key id/],
    ['duplicate', `k1 ${hex}\nk1 ${hex}`, /line 2: key id "k1" appears twice/],
    ['huge secret', `k1 ${'ab'.repeat(2_000)}`, /32 to 1024 bytes/],
    ['negative-looking', `k1 -${hex}`, /hex digits/],
  ];
  for (const [name, text, why] of bad) {
    assert.throws(() => parseHostKeyFile(text), why, name);
  }
  // An error never quotes the secret.
  try {
    parseHostKeyFile(`k1 ${'ab'.repeat(31)}`);
    assert.fail('expected a refusal');
  } catch (error) {
    assert.doesNotMatch((error as Error).message, /abab/);
  }
});
