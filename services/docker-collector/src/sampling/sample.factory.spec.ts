import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleIdOf, validateSample } from '@metering/contracts';
import { identityOf, instanceIdOf, utcMillis } from './reading';
import { containerSample, residualIdentityOf, residualSample } from './sample.factory';

const ID = '3f4e8a9c2b1d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f';

describe('samples', () => {
  test('instance ids change with the start time and are the same whoever derives them', () => {
    const a = instanceIdOf(ID, '2026-11-26T12:58:00.123456789Z');
    assert.equal(a, '3f4e8a9c2b1d@2026-11-26T12:58:00.123Z');
    assert.equal(instanceIdOf(ID, '2026-11-26T12:58:00.123Z'), a);
    assert.notEqual(instanceIdOf(ID, '2026-11-26T12:59:00Z'), a);
    assert.throws(() => utcMillis('yesterday'), /not a timestamp/);
  });

  test('a container sample matches the contract, with deterministic id and decimal CPU', () => {
    const identity = identityOf(
      { id: ID, name: 'web-1', startedAt: '2026-11-26T12:58:00Z' },
      'acme',
    );
    const observedAt = Date.parse('2026-11-26T13:00:10.000Z') + 0.7;
    const sample = containerSample(
      'node-1',
      identity,
      {
        at: observedAt,
        doneAt: observedAt,
        cpuUsageNs: 98765432101234567n,
        memoryWorkingSetBytes: 52428800,
        limits: { cpuLimitCores: 0.5, memoryLimitBytes: 67108864 },
      },
      'running',
      observedAt,
      3,
    );
    assert.equal(validateSample(sample).ok, true);
    assert.equal(sample.cpu.usageNs, '98765432101234567');
    assert.equal(sample.observedAt, '2026-11-26T13:00:10.000Z');
    assert.equal(sample.sequence, 3);
    assert.equal(
      sample.sampleId,
      sampleIdOf({
        source: 'docker',
        host: 'node-1',
        resourceId: ID,
        instanceId: identity.instanceId,
        observedAt: '2026-11-26T13:00:10.000Z',
      }),
    );
    assert.deepEqual(sample.cpu.allocationCores, 0.5);
  });

  test('unlimited (and zero) limits are null', () => {
    const identity = identityOf({ id: ID, name: 'x', startedAt: '2026-11-26T12:58:00Z' }, 't');
    const at = Date.parse('2026-11-26T13:00:00Z');
    const sample = containerSample(
      'h',
      identity,
      {
        at,
        doneAt: at,
        cpuUsageNs: 0n,
        memoryWorkingSetBytes: 0,
        limits: { cpuLimitCores: null, memoryLimitBytes: 0 },
      },
      'start',
      at,
      0,
    );
    assert.equal(sample.cpu.allocationCores, null);
    assert.equal(sample.memory.allocationBytes, null);
    assert.equal(validateSample(sample).ok, true);
  });

  test('a residual sample is a per-host resource of the tenant, marked residualOf', () => {
    const baseline = Date.parse('2026-11-26T12:00:00Z');
    const identity = residualIdentityOf('node-1', '/metering/acme', 'acme', baseline);
    const sample = residualSample('node-1', identity, 1234n, 'running', baseline + 10_000, 7);
    assert.equal(validateSample(sample).ok, true);
    assert.equal(sample.resource.id, 'node-1:cgroup:/metering/acme');
    assert.equal(sample.resource.instanceId, '/metering/acme@2026-11-26T12:00:00.000Z');
    assert.equal(sample.resource.residualOf, '/metering/acme');
    assert.equal(sample.resource.tenantId, 'acme');
    assert.equal(sample.cpu.usageNs, '1234');
    assert.equal(sample.memory.usageBytes, 0);
    assert.equal(sample.sequence, 7);
  });

  test('the image rides along when it fits the contract, and is left out when it does not', () => {
    const reading = {
      at: Date.parse('2026-11-26T13:00:10.000Z'),
      doneAt: Date.parse('2026-11-26T13:00:10.000Z'),
      cpuUsageNs: 1n,
      memoryWorkingSetBytes: 1,
      limits: { cpuLimitCores: null, memoryLimitBytes: null },
    };
    const sampleWith = (image: string | null | undefined) =>
      containerSample(
        'node-1',
        identityOf({ id: ID, name: 'web-1', startedAt: '2026-11-26T12:58:00Z', image }, 'acme'),
        reading,
        'running',
        reading.at,
        0,
      );
    for (const image of ['local/busybox:1', 'ωμέγα/株式会社:1', 'i'.repeat(512)]) {
      const sample = sampleWith(image);
      assert.equal(sample.resource.image, image);
      assert.ok(validateSample(sample).ok);
    }
    for (const image of [null, undefined, '', 'web\u0000:1', 'i'.repeat(513), '株'.repeat(171)]) {
      const sample = sampleWith(image);
      assert.equal('image' in sample.resource, false, JSON.stringify(image));
      assert.ok(validateSample(sample).ok, 'the sample itself is still valid');
    }
  });
});
