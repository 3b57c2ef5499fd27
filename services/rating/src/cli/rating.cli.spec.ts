import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from './rating.cli';

/** Runs the command line in process (no broker or database is reached before arguments pass). */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  const code = await main(argv, { out, err });
  return {
    code,
    out: Buffer.concat(chunks.out).toString(),
    err: Buffer.concat(chunks.err).toString(),
  };
}

describe('rating command line', () => {
  test('without a command: the list of commands, exit 2; --help: exit 0', async () => {
    const none = await run([]);
    assert.equal(none.code, 2);
    assert.match(none.err, /usage: npm run rating -- <command>/);
    assert.match(none.err, /\n {2}dlq {2}/);
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /dlq/);
  });

  test('an unknown command: exit 2, its name escaped', async () => {
    const r = await run(['purge\u001b[2J']);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown command "purge\\u001b\[2J"/);
  });

  test('bad arguments of a command: exit 2 with the message and its usage', async () => {
    for (const argv of [
      ['dlq', 'list', '--tenant', 'acme\u0000'],
      ['dlq', 'list', '--from', '2026-02-30T00:00:00Z'],
      ['dlq', 'list', '--reason', 'lower_case'],
      ['dlq', 'replay', '--limit', '0'],
      ['dlq'],
    ]) {
      const r = await run(argv);
      assert.equal(r.code, 2, JSON.stringify(argv));
      assert.match(r.err, /^rating dlq: .+\nusage:\n {2}npm run rating -- dlq list/, r.err);
      assert.equal(r.out, '');
    }
  });

  test('per-command help on stdout, exit 0', async () => {
    const r = await run(['dlq', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /--key-from-resource/);
  });
});
