import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

// The sampling cycle is pure (style.md): no framework, no libvirt, no I/O. Compiled to
// dist/src/sampling/, so the sources are three levels up.
const sourceDir = resolve(__dirname, '..', '..', '..', 'src', 'sampling');
const FORBIDDEN =
  /^(@nestjs\/|@unraid\/libvirt|kafkajs|@metering\/(kafka|spool|observability)|node:(fs|net|http|child_process)|fs$|\.\.\/)/;

test('sampling/ imports nothing from NestJS, libvirt, Kafka, the file system or other folders', () => {
  const files = readdirSync(sourceDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'));
  assert.ok(files.length >= 4, `sources found in ${sourceDir}`);
  for (const file of files) {
    const source = readFileSync(join(sourceDir, file), 'utf8');
    for (const [, specifier] of source.matchAll(/from '([^']+)'/g)) {
      assert.doesNotMatch(specifier!, FORBIDDEN, `${file} imports ${specifier}`);
    }
  }
});
