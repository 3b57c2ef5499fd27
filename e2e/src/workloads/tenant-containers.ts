import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { localInfra } from '@metering/testing';
import { type CgroupAccounting } from '../kernel/cgroup-accounting';
import { type LevelReading, byteSeconds } from '../kernel/memory-integral';

const run = promisify(execFile);

export interface ContainerSpec {
  /** Suffix of the container name. */
  readonly role: string;
  /** `docker run --cpus`. */
  readonly cpus: number;
  readonly memoryLimit?: string;
  readonly shmSize?: string;
  readonly command: readonly string[];
}

export interface ContainerRecord {
  readonly role: string;
  readonly id: string;
  readonly cgroupPath: string;
  readonly readings: LevelReading[];
  startedAtMs: number;
  finishedAtMs: number | null;
}

export interface ContainerAccount {
  readonly role: string;
  readonly id: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly lifetimeSeconds: number;
  /** ∫ working set dt over the container's life, from the test's own readings. */
  readonly memoryByteSeconds: number;
  readonly peakBytes: number;
}

/**
 * A tenant's containers: real busybox containers (`--network none`, CPU quotas) labelled with the
 * tenant and started under its parent cgroup `/metering/<tenant>` (ADR 3), so the parent's
 * hierarchical counters are the kernel's account of everything the tenant ran. The test reads
 * each container's working set itself every `sampleEveryMs` while it runs.
 */
export class TenantContainers {
  readonly parentCgroup: string;
  readonly records: ContainerRecord[] = [];
  private sampler: NodeJS.Timeout | undefined;

  constructor(
    readonly tenant: string,
    /** Label value that marks this run's containers (clean-up finds them by it). */
    readonly runLabel: string,
    private readonly cgroups: CgroupAccounting,
  ) {
    this.parentCgroup = `/metering/${tenant}`;
  }

  async start(spec: ContainerSpec): Promise<ContainerRecord> {
    const { stdout } = await run('docker', [
      'run',
      '-d',
      '--network',
      'none',
      '--cpus',
      String(spec.cpus),
      ...(spec.memoryLimit === undefined ? [] : ['--memory', spec.memoryLimit]),
      ...(spec.shmSize === undefined ? [] : ['--shm-size', spec.shmSize]),
      '--cgroup-parent',
      this.parentCgroup,
      '--label',
      `metering.tenant=${this.tenant}`,
      '--label',
      `metering.e2e-run=${this.runLabel}`,
      '--name',
      `${this.runLabel}-${spec.role}`,
      localInfra.busyboxImage,
      ...spec.command,
    ]);
    const id = stdout.trim();
    const record: ContainerRecord = {
      role: spec.role,
      id,
      cgroupPath: `${this.parentCgroup}/${id}`,
      readings: [],
      startedAtMs: Date.now(),
      finishedAtMs: null,
    };
    this.records.push(record);
    this.read(record);
    return record;
  }

  /** Reads every running container's working set now and every `everyMs`. */
  startSampling(everyMs: number): void {
    this.sampler ??= setInterval(() => {
      for (const r of this.records) if (r.finishedAtMs === null) this.read(r);
    }, everyMs);
  }

  private read(record: ContainerRecord): void {
    const bytes = this.cgroups.workingSetBytes(record.cgroupPath);
    if (bytes !== null) record.readings.push({ atMs: Date.now(), bytes });
  }

  /** SIGKILL to every container still running; returns once all have exited. */
  async killAll(): Promise<void> {
    for (const r of this.records) this.read(r);
    const ids = this.records.map((r) => r.id);
    await run('docker', ['kill', ...ids]).catch(() => undefined); // some have exited already
    await run('docker', ['wait', ...ids]);
    this.stopSampling();
  }

  stopSampling(): void {
    if (this.sampler !== undefined) clearInterval(this.sampler);
    this.sampler = undefined;
  }

  /** Waits until a container has exited by itself. */
  async waitExited(record: ContainerRecord): Promise<void> {
    await run('docker', ['wait', record.id]);
  }

  /** Start and exit times as the engine recorded them, and the memory integral over that life. */
  async accounts(): Promise<ContainerAccount[]> {
    const out: ContainerAccount[] = [];
    for (const r of this.records) {
      const { stdout } = await run('docker', [
        'inspect',
        '--format',
        '{{.State.StartedAt}} {{.State.FinishedAt}}',
        r.id,
      ]);
      const [startedAt = '', finishedAt = ''] = stdout.trim().split(' ');
      r.startedAtMs = Date.parse(startedAt);
      r.finishedAtMs = Date.parse(finishedAt);
      out.push({
        role: r.role,
        id: r.id,
        startedAt,
        finishedAt,
        lifetimeSeconds: (r.finishedAtMs - r.startedAtMs) / 1000,
        memoryByteSeconds: byteSeconds(r.readings, r.startedAtMs, r.finishedAtMs),
        peakBytes: Math.max(0, ...r.readings.map((x) => x.bytes)),
      });
    }
    return out;
  }

  /** The parent cgroup's CPU counter: every CPU-nanosecond the tenant's containers used. */
  parentCpuNs(): bigint {
    return this.cgroups.cpuUsageNs(this.parentCgroup);
  }

  /** Removes every container of this run (by label, also ones whose id was never seen). */
  async removeAll(): Promise<void> {
    this.stopSampling();
    const { stdout } = await run('docker', [
      'ps',
      '-aq',
      '--filter',
      `label=metering.e2e-run=${this.runLabel}`,
    ]);
    const ids = stdout.split('\n').filter((x) => x !== '');
    if (ids.length > 0) await run('docker', ['rm', '-f', ...ids]);
    this.cgroups.removeEmpty(this.parentCgroup);
  }
}
