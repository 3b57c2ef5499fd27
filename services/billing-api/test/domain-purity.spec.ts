import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// The lint rule for pure domains matches services/*/src/domain; ours is src/invoices/domain.
const DOMAIN = join(__dirname, '../../src/invoices/domain');
const OVERVIEW_DOMAIN = join(__dirname, '../../src/overview/domain');
const FORBIDDEN =
  /from '(@nestjs\/[^']*|typeorm|pg|express|pdfkit|csv-[^']*|node:(fs|net|http|https|child_process))'/;

test('the invoice domain imports no framework, database or I/O module', () => {
  const files = readdirSync(DOMAIN).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'));
  assert.ok(files.length >= 5);
  for (const file of files) {
    const source = readFileSync(join(DOMAIN, file), 'utf8');
    assert.doesNotMatch(source, FORBIDDEN, file);
  }
});

test('the overview domain (the forecast) imports no framework, database or I/O module', () => {
  const files = readdirSync(OVERVIEW_DOMAIN).filter(
    (f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'),
  );
  assert.ok(files.length >= 2);
  for (const file of files) {
    assert.doesNotMatch(readFileSync(join(OVERVIEW_DOMAIN, file), 'utf8'), FORBIDDEN, file);
  }
});
