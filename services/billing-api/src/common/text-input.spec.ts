import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fieldName, findTextProblems, textProblem } from './text-input';

test('control characters (C0, DEL, C1) and lone surrogates are refused; other text is not', () => {
  for (const bad of [
    '\u0000',
    'a\u0000',
    '\t',
    '\n',
    '\r',
    '\u001f',
    '\u007f',
    '\u0080',
    '\u009f',
  ]) {
    assert.match(
      textProblem(bad) ?? '',
      /control characters \(U\+00[0-9A-F]{2} at index \d\)/,
      JSON.stringify(bad),
    );
  }
  for (const bad of ['\ud800', 'a\udfff', '\udc00\ud800', 'x\ud83d']) {
    assert.match(textProblem(bad) ?? '', /well-formed Unicode/, JSON.stringify(bad));
  }
  for (const good of [
    '',
    'acme',
    'Acme GmbH',
    'ü',
    '👻',
    '\u00a0',
    '\u2028',
    'x'.repeat(100_000),
    '"<&>\'',
  ]) {
    assert.equal(textProblem(good), null, JSON.stringify(good));
  }
});

test('text without those characters is always accepted (any code point, any length)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (s) => {
      // eslint-disable-next-line no-control-regex
      const hasControl = /[\u0000-\u001f\u007f-\u009f]/.test(s);
      assert.equal(textProblem(s) === null, !hasControl);
    }),
  );
});

test('every problem names its field: path parameters, query keys and values, body paths', () => {
  const problems = findTextProblems({
    params: { id: 'a\u0000', keyId: 'fine' },
    query: { period: ['2026-11', 'x\u0001'], 'k\u0000': '1' },
    body: {
      name: 'ok',
      cpu: { tiers: [{ upTo: null, unitPrice: '1\u0085' }] },
      nested: [[{ deep: '\ud800' }]],
      number: 1,
      flag: true,
    },
  });
  assert.deepEqual(
    problems.map((p) => p.field),
    ['id', 'period[1]', 'k\\u0000', 'cpu.tiers[0].unitPrice', 'nested[0][0].deep'],
  );
  assert.match(problems[2]?.message ?? '', /^the key must not contain control characters/);
  assert.deepEqual(findTextProblems({ params: {}, query: {}, body: undefined }), []);
  assert.deepEqual(findTextProblems({ body: 'a\u0000' }), [
    { field: 'body', message: 'must not contain control characters (U+0000 at index 1)' },
  ]);
});

test('hostile input stays bounded: at most ten problems, shortened keys, refused depth', () => {
  const many = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, '\u0000']));
  assert.equal(findTextProblems({ body: many }).length, 10);
  const longKey = `${'k'.repeat(10_000)}\u0000`;
  const [problem] = findTextProblems({ body: { [longKey]: 1 } });
  assert.ok((problem?.field.length ?? 0) <= 65, problem?.field);
  assert.equal(fieldName('a\u0001\ud800b'), 'a\\u0001\\ud800b');
  assert.deepEqual(
    findTextProblems({ query: { '': '\u0000' } }).map((p) => p.field),
    ['""'],
  );
  let deep: unknown = '\u0000';
  for (let i = 0; i < 10_000; i++) deep = [deep];
  const [tooDeep] = findTextProblems({ body: deep });
  assert.equal(tooDeep?.message, 'nests deeper than 32 levels');
  assert.equal(tooDeep?.field, `${'[0]'.repeat(33)}`);
  assert.deepEqual(findTextProblems({ body: { a: [[[[['fine']]]]] } }), []);
});
