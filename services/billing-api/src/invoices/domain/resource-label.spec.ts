import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fittedResourceLabel, resourceLabel, shortResourceId } from './resource-label';

test('short ids: Docker 12 hex digits, the first group of a UUID, long others cut, short ones whole', () => {
  const docker = 'a'.repeat(12) + 'b'.repeat(52);
  assert.equal(shortResourceId(docker), 'aaaaaaaaaaaa');
  assert.equal(shortResourceId('3F2504E0-4F89-11D3-9A0C-0305E82C3301'), '3F2504E0');
  assert.equal(shortResourceId('node-1:cgroup:/metering/acme'), 'node-1:cgrou…');
  assert.equal(shortResourceId('ctr-1'), 'ctr-1');
  // Cut by code points: never half a surrogate pair.
  assert.equal(
    shortResourceId('株'.repeat(10) + '\ud83d\ude80'.repeat(10)),
    '株'.repeat(10) + '\ud83d\ude80'.repeat(2) + '…',
  );
});

test('labels: the name beside the short id; the whole id without a name', () => {
  const id = 'c'.repeat(64);
  assert.equal(
    resourceLabel({ resourceId: id, resourceName: 'Ωμέγα 株式会社' }),
    `Ωμέγα 株式会社 (${'c'.repeat(12)})`,
  );
  assert.equal(resourceLabel({ resourceId: id, resourceName: null }), id);
  assert.equal(resourceLabel({ resourceId: id, resourceName: '' }), id);
  assert.equal(resourceLabel({ resourceId: id }), id);
});

test('a label too wide for its column loses the end of the name, never the short id', () => {
  const id = 'f'.repeat(64);
  const within = (n: number) => (text: string) => [...text].length <= n;
  const r = { resourceId: id, resourceName: 'e2e_mx7vy1xj_292e58c3-burner-1' };
  assert.equal(
    fittedResourceLabel(r, within(100)),
    `e2e_mx7vy1xj_292e58c3-burner-1 (${'f'.repeat(12)})`,
  );
  const cut = fittedResourceLabel(r, within(30));
  assert.equal(cut, `e2e_mx7vy1xj_2… (${'f'.repeat(12)})`);
  assert.equal([...cut].length, 30);
  // Code points, not UTF-16 units: a surrogate pair is never split.
  const rocket = fittedResourceLabel(
    { resourceId: id, resourceName: '\ud83d\ude80'.repeat(40) },
    within(20),
  );
  assert.equal(rocket, `${'\ud83d\ude80'.repeat(4)}… (${'f'.repeat(12)})`);
  // Nothing of the name fits: the ellipsis and the id.
  assert.equal(fittedResourceLabel(r, within(5)), `… (${'f'.repeat(12)})`);
  // No name: the whole id, as before (the renderer's ellipsis cuts it).
  assert.equal(fittedResourceLabel({ resourceId: id, resourceName: null }, within(5)), id);
});
