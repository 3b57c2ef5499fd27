import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLocalQemuSystem, isRemote } from './libvirt-terms';

test('QEMU processes are read only for the local system connection', () => {
  const cases: [string, boolean, boolean][] = [
    // uri, local qemu system, remote
    ['qemu:///system', true, false],
    ['qemu+unix:///system', true, false],
    ['qemu:///system?socket=/run/libvirt/libvirt-sock', true, false],
    ['qemu:///session', false, false],
    ['test:///default', false, false],
    ['qemu+ssh://root@kvm-2/system', false, true],
    ['qemu+tcp://kvm-3:16509/system', false, true],
  ];
  for (const [uri, local, remote] of cases) {
    assert.equal(isLocalQemuSystem(uri), local, uri);
    assert.equal(isRemote(uri), remote, uri);
  }
});
