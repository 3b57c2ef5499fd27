import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { type Logger } from '@metering/observability';
import { type SamplePublisher } from '@metering/spool';
import { CgroupReader, type FileReader, parseMountInfo, syncFileReader } from '../src/cgroups';
import { type CollectorMetrics, systemClock } from '../src/collector/collector.ports';
import { type CollectorSettings } from '../src/collector/collector.ports';
import { ContainerCollector } from '../src/collector/container-collector';
import { type DockerCollectorConfig } from '../src/config';
import { type ContainerSource } from '../src/discovery/docker-engine.client';
import { type InspectedContainer } from '../src/discovery/inspected-container';
import { TenantResolver } from '../src/discovery/tenant.resolver';
import { FileFollowedStore } from '../src/persistence/followed-containers.store';
import { CgroupUsageReader } from '../src/reading/cgroup-usage.reader';

export interface SyntheticHost {
  readonly source: ContainerSource;
  readonly reader: CgroupUsageReader;
}

/** A cgroup v1 tree of `n` containers in a tmp dir (cgroupfs naming), and its engine. */
export function syntheticHost(
  tmpRoot: string,
  n: number,
  memoryStat: string,
  fileReader: FileReader = syncFileReader,
): SyntheticHost {
  const root = mkdtempSync(join(tmpRoot, `tree-${n}-`));
  const controllers = ['cpu', 'cpuacct', 'memory', 'cpuset'];
  const ids = Array.from({ length: n }, (_, i) => `b${i.toString(16).padStart(63, '0')}`);
  for (const id of ids) {
    const dir = (controller: string): string => {
      const path = join(root, controller, 'docker', id);
      mkdirSync(path, { recursive: true });
      return path;
    };
    writeFileSync(join(dir('cpuacct'), 'cpuacct.usage'), `${123_456_789_000 + n}\n`);
    const memory = dir('memory');
    writeFileSync(join(memory, 'memory.usage_in_bytes'), '52428800\n');
    writeFileSync(join(memory, 'memory.limit_in_bytes'), '67108864\n');
    writeFileSync(join(memory, 'memory.stat'), memoryStat);
    const cpu = dir('cpu');
    writeFileSync(join(cpu, 'cpu.cfs_quota_us'), '50000\n');
    writeFileSync(join(cpu, 'cpu.cfs_period_us'), '100000\n');
    writeFileSync(join(dir('cpuset'), 'cpuset.cpus'), '0-1\n');
  }
  const mounts = parseMountInfo(
    controllers
      .map((c, i) => `${40 + i} 1 0:${40 + i} / ${join(root, c)} rw - cgroup cgroup rw,${c}`)
      .join('\n'),
  );
  const startedAt = new Date(Date.now() - 3_600_000).toISOString();
  const source: ContainerSource = {
    listRunning: () => Promise.resolve(ids),
    inspect: (id): Promise<InspectedContainer> =>
      Promise.resolve({
        id,
        name: `synthetic-${id.slice(-6)}`,
        labels: { 'metering.tenant': `tenant-${parseInt(id.slice(-3), 16) % 50}` },
        running: true,
        pid: 0, // no process: located from CgroupParent and the id, as for the cgroupfs driver
        startedAt,
        finishedAt: null,
        cgroupParent: '',
        configuredLimits: { cpuLimitCores: 0.5, memoryLimitBytes: 67108864 },
      }),
  };
  const reader = new CgroupUsageReader({
    mounts,
    driver: 'cgroupfs',
    procRoot: join(root, 'no-proc'),
    reader: new CgroupReader(cpus().length, fileReader, syncFileReader),
  });
  return { source, reader };
}

export function syntheticCollector(
  config: DockerCollectorConfig,
  host: SyntheticHost,
  pub: SamplePublisher,
  metrics: CollectorMetrics,
  log: Logger,
): ContainerCollector {
  const settings: CollectorSettings = {
    host: config.hostName,
    hostCores: config.hostCores,
    intervalMs: config.sampleIntervalMs,
    youngReadIntervalMs: 0,
    youngWindowMs: 0,
    resyncIntervalMs: 0,
    limitsEveryCycles: config.limitsEveryCycles,
    dieGraceMs: config.dieGraceMs,
    discoveryConcurrency: 32,
    meterResidual: true,
    residualTenantOf: () => null,
  };
  return new ContainerCollector(
    {
      source: host.source,
      reader: host.reader,
      publisher: pub,
      tenants: new TenantResolver(config.tenantLabel, config.defaultTenant),
      clock: systemClock,
      metrics,
      log,
      // As the service: the instances followed saved beside the spool every cycle.
      followedStore: new FileFollowedStore(config.followedStateDir),
    },
    settings,
  );
}
