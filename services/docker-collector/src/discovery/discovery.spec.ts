import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { containerEventOf } from './container-event';
import { type InspectInfo, inspectedContainerOf } from './inspected-container';
import { TenantResolver } from './tenant.resolver';

const info = (over: Partial<InspectInfo> = {}): InspectInfo => ({
  Id: 'abc',
  Name: '/web-1',
  State: {
    Running: true,
    Pid: 4242,
    StartedAt: '2026-11-26T14:05:46.742109469Z',
    FinishedAt: '0001-01-01T00:00:00Z',
  },
  Config: { Labels: { 'metering.tenant': 'acme' } },
  HostConfig: { CgroupParent: '/metering/acme', NanoCpus: 0, CpuQuota: 0, CpuPeriod: 0, Memory: 0 },
  ...over,
});

describe('inspect → InspectedContainer', () => {
  test('name without slash, zero FinishedAt as null, labels and parent', () => {
    const c = inspectedContainerOf(info(), 2);
    assert.equal(c.name, 'web-1');
    assert.equal(c.finishedAt, null);
    assert.equal(c.pid, 4242);
    assert.equal(c.cgroupParent, '/metering/acme');
    assert.deepEqual(c.labels, { 'metering.tenant': 'acme' });
    assert.deepEqual(c.configuredLimits, { cpuLimitCores: null, memoryLimitBytes: null });
  });

  test('configured limits: --cpus, quota/period, a narrow cpuset, memory; the smallest CPU wins', () => {
    const host = (h: NonNullable<InspectInfo['HostConfig']>): InspectInfo =>
      info({ HostConfig: h });
    assert.equal(
      inspectedContainerOf(host({ NanoCpus: 1_500_000_000 }), 4).configuredLimits.cpuLimitCores,
      1.5,
    );
    assert.equal(
      inspectedContainerOf(host({ CpuQuota: 50_000, CpuPeriod: 100_000 }), 4).configuredLimits
        .cpuLimitCores,
      0.5,
    );
    assert.equal(
      inspectedContainerOf(host({ CpuQuota: 20_000 }), 4).configuredLimits.cpuLimitCores,
      0.2,
    );
    assert.equal(
      inspectedContainerOf(host({ CpusetCpus: '0-1', NanoCpus: 3e9 }), 4).configuredLimits
        .cpuLimitCores,
      2,
    );
    assert.equal(
      inspectedContainerOf(host({ CpusetCpus: '0-3' }), 4).configuredLimits.cpuLimitCores,
      null,
    );
    assert.equal(
      inspectedContainerOf(host({ Memory: 67108864 }), 4).configuredLimits.memoryLimitBytes,
      67108864,
    );
    assert.equal(
      inspectedContainerOf(info({ HostConfig: null, Config: null }), 4).configuredLimits
        .cpuLimitCores,
      null,
    );
  });
});

describe('Docker events', () => {
  test('container lifecycle events with nanosecond time', () => {
    const e = containerEventOf({
      Type: 'container',
      Action: 'die',
      Actor: { ID: 'abc', Attributes: { exitCode: '0' } },
      time: 1764165946,
      timeNano: 1764165946742109400, // JSON numbers this large arrive rounded anyway
    });
    assert.deepEqual(
      { action: e?.action, id: e?.containerId, at: e?.at },
      { action: 'die', id: 'abc', at: 1764165946742 },
    );
    assert.ok(e !== null && Math.abs(e.since - 1764165946.742109) < 1e-3);
  });

  test('old-style events (status/id/time) still work', () => {
    const e = containerEventOf({ status: 'start', id: 'abc', Type: 'container', time: 1764165946 });
    assert.equal(e?.at, 1764165946000);
  });

  test('other types, other actions, exec_* and garbage are ignored', () => {
    for (const raw of [
      { Type: 'network', Action: 'connect', Actor: { ID: 'n' }, time: 1 },
      { Type: 'container', Action: 'exec_start: sh', Actor: { ID: 'a' }, time: 1 },
      { Type: 'container', Action: 'attach', Actor: { ID: 'a' }, time: 1 },
      { Type: 'container', Action: 'start', Actor: {}, time: 1 },
      { Type: 'container', Action: 'start', Actor: { ID: 'a' } },
      'start',
      null,
    ]) {
      assert.equal(containerEventOf(raw), null, JSON.stringify(raw));
    }
  });
});

describe('TenantResolver', () => {
  const tenants = new TenantResolver('metering.tenant', 'default');
  test('the label, trimmed; the default when missing or blank', () => {
    assert.equal(tenants.tenantOf({ 'metering.tenant': ' acme ' }), 'acme');
    assert.equal(tenants.tenantOf({}), 'default');
    assert.equal(tenants.tenantOf({ 'metering.tenant': '' }), 'default');
    assert.equal(
      new TenantResolver('com.example/owner', 'x').tenantOf({ 'com.example/owner': 'y' }),
      'y',
    );
  });
});
