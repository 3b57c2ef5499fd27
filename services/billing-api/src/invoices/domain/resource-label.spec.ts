import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resourceLabel, shortResourceId } from './resource-label';

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
