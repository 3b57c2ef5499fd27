import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseBigInt, parseBigIntBytes } from './cgroup-values';
import { syncFileReader } from './cgroup.reader';
import { ScratchBuffer } from './file-bytes';

// Files read by path go through one shared buffer (open, pread, close), and integer files are
// parsed from their bytes: both must answer as readFileSync and the text parse did.

function outcome(parse: () => bigint): bigint | string {
  try {
    return parse();
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}

test('an integer parsed from the bytes is the one parsed from the text, errors alike', () => {
  const text = fc.oneof(
    fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String),
    fc
      .tuple(
        fc.constantFrom('', ' ', '\n', '\t', '\r\n', '\u00a0', '\ufeff', '\v'),
        fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 20n }).map(String), fc.constantFrom('007', '')),
        fc.constantFrom('', '\n', ' \n', '\r\n', '\u00a0', 'x', '-', '\u2028'),
      )
      .map(([a, b, c]) => `${a}${b}${c}`),
    fc.constantFrom('-1', '1e3', '١٢', '12 34', '9'.repeat(15), '9'.repeat(16), 'max\n'),
    fc.string({ unit: 'binary', maxLength: 8 }),
  );
  fc.assert(
    fc.property(text, (t) => {
      const bytes = Buffer.from(t, 'utf8');
      assert.deepEqual(
        outcome(() => parseBigIntBytes(bytes, '/cg')),
        outcome(() => parseBigInt(bytes.toString('utf8'), '/cg')),
      );
    }),
    { numRuns: 20_000 },
  );
});

test('a file read by path is read whole, as readFileSync reads it, errors alike', () => {
  const dir = mkdtempSync(join(tmpdir(), 'file-bytes-'));
  try {
    const scratch = new ScratchBuffer();
    const small = join(dir, 'small');
    const large = join(dir, 'large');
    writeFileSync(small, '123\n');
    // Bigger than the initial buffer: it grows, and keeps what was read.
    writeFileSync(large, 'é'.repeat(40_000) + '\nend\n');
    assert.deepEqual(scratch.readPath(large), readFileSync(large));
    assert.deepEqual(scratch.readPath(small), readFileSync(small));
    writeFileSync(small, '9\n'); // shorter than before: no stale tail
    assert.equal(syncFileReader(small), readFileSync(small, 'utf8'));
    assert.deepEqual(syncFileReader.bytes?.(large), readFileSync(large));
    assert.throws(() => scratch.readPath(join(dir, 'nope')), { code: 'ENOENT' });
    assert.throws(() => syncFileReader(dir), { code: 'EISDIR' });
    assert.throws(() => readFileSync(dir, 'utf8'), { code: 'EISDIR' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
