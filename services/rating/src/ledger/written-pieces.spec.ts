import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type UnpricedPiece } from '../domain';
import { WrittenPieces } from './written-pieces';

// What the pricing pass takes from memory instead of reading back: the rows held per month, a
// copy for each page, dropped when priced, when a page shows them gone, and beyond the bound.

const NOV = { tenantId: 'acme', period: '2026-11' };
const DEC = { tenantId: 'acme', period: '2026-12' };
const OTHER = { tenantId: 'acme|2026', period: '11' };

function pieces(n: number, resourceId = 'r'): UnpricedPiece[] {
  return Array.from({ length: n }, (_, i) => ({
    tenantId: 'acme',
    resourceKind: 'vm',
    resourceId: `${resourceId}${i}`,
    instanceId: 'i',
    period: '2026-11',
    gap: false,
    final: false,
    parts: [],
  }));
}

test('rows are held per month, each page gets a copy of its month, and priced rows go', () => {
  const written = new WrittenPieces();
  const a = pieces(2);
  const b = pieces(1, 's');
  written.remember('7', NOV, a);
  written.remember('8', DEC, b);
  written.remember('9', OTHER, b);
  assert.equal(written.size, 4);
  const held = written.heldOf(NOV);
  assert.deepEqual([...held.keys()], ['7']);
  assert.equal(held.get('7'), a, 'the very pieces written');
  assert.deepEqual([...written.heldOf(OTHER).keys()], ['9'], 'months keyed apart, not joined');

  written.forget(NOV, ['7', '404']);
  assert.equal(held.get('7'), a, "a page's copy keeps what it asked for");
  assert.equal(written.heldOf(NOV).size, 0);
  assert.equal(written.size, 2);
  written.remember('8', DEC, a);
  assert.equal(written.size, 3, 'the same id again replaces, never counts twice');
  assert.deepEqual(written.heldOf({ tenantId: 'nobody', period: '2026-11' }), new Map());
});

test('a page shows held rows gone: before its last row, or all of them when it is complete', () => {
  const written = new WrittenPieces();
  for (const id of ['9', '10', '11', '100']) written.remember(id, NOV, pieces(1));
  const asked = () => [...written.heldOf(NOV).keys()];
  // Ids compare as numbers, not text: '9' < '10' < '11' < '100'.
  written.pageRead(NOV, asked(), ['10', '11'], false);
  assert.deepEqual(asked(), ['10', '11', '100'], '9 was priced elsewhere');
  const before = asked();
  written.remember('101', NOV, pieces(1));
  written.pageRead(NOV, before, ['100'], true);
  assert.deepEqual(asked(), ['100', '101'], 'held after the page was asked for: left');
  written.pageRead(NOV, asked(), [], true);
  assert.equal(written.size, 0, 'an empty page: nothing of the month is left');
  written.pageRead(DEC, [], [], true);
  assert.equal(written.size, 0);
});

test('bounded: the months held longest go first, whole; a row beyond the bound is not held', () => {
  const written = new WrittenPieces(5);
  written.remember('1', NOV, pieces(2));
  written.remember('2', DEC, pieces(2));
  written.remember('3', NOV, pieces(1));
  assert.equal(written.size, 5);
  written.remember('4', OTHER, pieces(2));
  assert.equal(written.heldOf(NOV).size, 0, 'the first month held goes, both its rows');
  assert.deepEqual([...written.heldOf(DEC).keys()], ['2']);
  assert.equal(written.size, 4);
  written.remember('5', NOV, pieces(6));
  assert.equal(written.heldOf(NOV).size, 0, 'more than the bound on its own: read from the table');
  assert.equal(written.size, 4);
  written.forget(DEC, ['2']);
  written.forget(OTHER, ['4']);
  assert.equal(written.size, 0);
});

test('with several instances, only the rows of the tenants this one prices are held', () => {
  const written = new WrittenPieces();
  let owned = new Set(['acme']);
  written.holdOnly((tenantId) => owned.has(tenantId));
  written.remember('1', NOV, pieces(2));
  written.remember('2', { tenantId: 'globex', period: '2026-11' }, pieces(3));
  assert.equal(written.size, 2, "another instance's tenant: its passes never ask");
  owned = new Set(['globex']);
  written.remember('3', { tenantId: 'globex', period: '2026-11' }, pieces(3));
  assert.equal(written.size, 5, 'the owner as it is at each write');
});
