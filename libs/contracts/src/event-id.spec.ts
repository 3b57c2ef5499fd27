import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContractViolationError } from './contract.errors';
import { type SampleIdentity, sampleIdOf, usageIdOf } from './event-id';
import { exampleDockerSample, exampleUsageEvent } from './event.fixtures';

const identity: SampleIdentity = {
  source: 'docker',
  host: 'node-1',
  resourceId: 'abc',
  instanceId: 'abc@1',
  observedAt: '2026-11-26T13:00:10.000Z',
};

test('sampleIdOf is a deterministic sha256 hex', () => {
  const id = sampleIdOf(identity);
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.equal(sampleIdOf({ ...identity }), id);
  // Pinned: changing the recipe would let replays across a deployment escape dedup.
  // sha256 of ["metering.sample.v1","docker","node-1","abc","abc@1","2026-11-26T13:00:10.000Z"]
  assert.equal(id, '87e368502e9a83c4096bf54d38de07a299fe3acce5a48326accf772900a3d4e2');
});

test('the same instant written differently gives the same id', () => {
  const id = sampleIdOf(identity);
  assert.equal(sampleIdOf({ ...identity, observedAt: '2026-11-26T14:00:10+01:00' }), id);
  assert.equal(sampleIdOf({ ...identity, observedAt: new Date('2026-11-26T13:00:10Z') }), id);
});

test('any identifying field changes the id, with no separator ambiguity', () => {
  const id = sampleIdOf(identity);
  const variants: SampleIdentity[] = [
    { ...identity, source: 'libvirt' },
    { ...identity, host: 'node-2' },
    { ...identity, resourceId: 'abd' },
    { ...identity, instanceId: 'abc@2' },
    { ...identity, observedAt: '2026-11-26T13:00:10.001Z' },
  ];
  const ids = new Set([id, ...variants.map(sampleIdOf)]);
  assert.equal(ids.size, variants.length + 1);
  assert.notEqual(
    sampleIdOf({ ...identity, host: 'a|b', resourceId: 'c' }),
    sampleIdOf({ ...identity, host: 'a', resourceId: 'b|c' }),
  );
  assert.notEqual(
    sampleIdOf({ ...identity, host: 'a","b', resourceId: 'c' }),
    sampleIdOf({ ...identity, host: 'a', resourceId: 'b","c' }),
  );
});

test('the example fixtures carry the ids their identity yields', () => {
  const sample = exampleDockerSample();
  assert.equal(
    sample.sampleId,
    sampleIdOf({
      source: sample.source,
      host: sample.host,
      resourceId: sample.resource.id,
      instanceId: sample.resource.instanceId,
      observedAt: sample.observedAt,
    }),
  );
  const usage = exampleUsageEvent();
  const usageIdentity = {
    tenantId: usage.tenantId,
    resourceKind: usage.resource.kind,
    resourceId: usage.resource.id,
    instanceId: usage.resource.instanceId,
    intervalStart: usage.interval.start,
    intervalEnd: usage.interval.end,
  };
  assert.equal(usage.usageId, usageIdOf(usageIdentity));
  assert.notEqual(
    usageIdOf({ ...usageIdentity, intervalEnd: '2026-11-26T13:00:00.001Z' }),
    usage.usageId,
  );
  assert.notEqual(usageIdOf({ ...usageIdentity, tenantId: 'globex' }), usage.usageId);
});

test('an invalid timestamp is a contract violation naming the field', () => {
  assert.throws(
    () => sampleIdOf({ ...identity, observedAt: 'not a time' }),
    (error: unknown) =>
      error instanceof ContractViolationError &&
      error.code === 'SCHEMA_VIOLATION' &&
      error.path === 'observedAt',
  );
});
