import { encodeSample, type SampleEvent } from '@metering/contracts';
import { type HealthIndicator } from '@metering/observability';
import { type CgroupLimits, type CgroupLocation } from '../src/cgroups';
import {
  type Clock,
  type CollectorLog,
  type CollectorMetrics,
  type ReadErrorKind,
  type SamplePublisher,
} from '../src/collector/collector.ports';
import { type CollectorSettings } from '../src/collector/collector.ports';
import { type ContainerEvent } from '../src/discovery/container-event';
import { type ContainerSource } from '../src/discovery/docker-engine.client';
import { type InspectedContainer } from '../src/discovery/inspected-container';
import {
  type UsageReader,
  type UsageSnapshot,
  type UsageTarget,
} from '../src/reading/usage-reader';
import { UsageVanishedError } from '../src/reading/usage.errors';

/** A manual clock that still moves a little on every call, so readings are strictly ordered. */
export class FakeClock implements Clock {
  constructor(public t = Date.parse('2026-11-26T13:00:00.000Z')) {}
  now(): number {
    this.t += 0.001;
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  /** The engine's times are this clock's: the same time line. */
  fromWall(wallMs: number): number {
    return wallMs;
  }
}

interface FakeContainer {
  id: string;
  name: string;
  labels: Record<string, string>;
  parent: string;
  startedAt: string;
  finishedAt: string | null;
  running: boolean;
  cpuNs: bigint;
  memory: number;
  limits: CgroupLimits;
}

/**
 * Docker and cgroups in memory: containers with CPU counters that move only when told, and
 * parent cgroups whose counter is the sum of every child that ever ran under them (as the
 * kernel's hierarchical cpuacct keeps it).
 */
export class FakeDockerWorld implements ContainerSource, UsageReader {
  readonly containers = new Map<string, FakeContainer>();
  /** CPU of exited children, per parent path. */
  private readonly exitedCpu = new Map<string, bigint>();
  private next = 0;
  readonly inspectCalls: string[] = [];

  constructor(private readonly clock: FakeClock) {}

  run(options: {
    labels?: Record<string, string>;
    parent?: string;
    limits?: Partial<CgroupLimits>;
    id?: string;
  }): string {
    this.next += 1;
    const id = options.id ?? `c${String(this.next).padStart(63, '0')}`;
    this.containers.set(id, {
      id,
      name: `fake-${this.next}`,
      labels: options.labels ?? {},
      parent: options.parent ?? '/docker',
      startedAt: new Date(this.clock.t).toISOString(),
      finishedAt: null,
      running: true,
      cpuNs: 0n,
      memory: 1_000_000,
      limits: { cpuLimitCores: null, memoryLimitBytes: null, ...options.limits },
    });
    return id;
  }

  burn(id: string, ns: bigint, memory?: number): void {
    const c = this.get(id);
    if (!c.running) throw new Error(`${id} is not running`);
    c.cpuNs += ns;
    if (memory !== undefined) c.memory = memory;
  }

  exit(id: string): void {
    const c = this.get(id);
    if (!c.running) return;
    c.running = false;
    c.finishedAt = new Date(this.clock.t).toISOString();
    this.exitedCpu.set(c.parent, (this.exitedCpu.get(c.parent) ?? 0n) + c.cpuNs);
  }

  /** Exited and removed (`docker run --rm`): the engine no longer knows it. */
  remove(id: string): void {
    this.exit(id);
    this.containers.delete(id);
  }

  /** A restart: same id, new StartedAt, a fresh cgroup whose counter starts at zero. */
  restart(id: string): void {
    this.exit(id);
    const c = this.get(id);
    this.clock.advance(5);
    c.running = true;
    c.startedAt = new Date(this.clock.t).toISOString();
    c.cpuNs = 0n;
  }

  /** The parent cgroup removed (only an empty one can be): created again, it counts from zero. */
  removeParent(parent: string): void {
    for (const c of this.containers.values()) {
      if (c.running && c.parent === parent) throw new Error(`${c.id} still runs under ${parent}`);
    }
    this.exitedCpu.delete(parent);
  }

  /** The kernel's view: the parent's hierarchical counter. */
  parentCpuNs(parent: string): bigint {
    let total = this.exitedCpu.get(parent) ?? 0n;
    for (const c of this.containers.values()) {
      if (c.running && c.parent === parent) total += c.cpuNs;
    }
    return total;
  }

  event(action: ContainerEvent['action'], id: string): ContainerEvent {
    const at = this.clock.t;
    return { action, containerId: id, at, since: at / 1000 };
  }

  // ContainerSource
  listRunning(): Promise<string[]> {
    return Promise.resolve([...this.containers.values()].filter((c) => c.running).map((c) => c.id));
  }

  /** Inspections of these containers answer only when released (a slow engine). */
  private readonly held = new Map<string, () => void>();
  private readonly holding = new Set<string>();

  holdInspect(id: string): void {
    this.holding.add(id);
  }

  /** Lets a held inspection answer (now or, if it has not been asked yet, at once when it is). */
  releaseInspect(id: string): void {
    this.holding.delete(id);
    this.held.get(id)?.();
    this.held.delete(id);
  }

  async inspect(id: string): Promise<InspectedContainer | null> {
    this.inspectCalls.push(id);
    if (this.holding.has(id)) await new Promise<void>((r) => this.held.set(id, r));
    const c = this.containers.get(id);
    if (c === undefined) return null;
    return {
      id: c.id,
      name: c.name,
      labels: c.labels,
      running: c.running,
      pid: c.running ? 4242 : 0,
      startedAt: c.startedAt,
      finishedAt: c.finishedAt,
      cgroupParent: c.parent,
      configuredLimits: c.limits,
    };
  }

  // UsageReader: a v2-shaped location whose dir is the cgroup path.
  locate(container: InspectedContainer): Promise<UsageTarget> {
    const path = `${container.cgroupParent}/${container.id}`;
    return Promise.resolve({
      kind: 'cgroup',
      path,
      location: { version: 'v2', dir: path },
      parentPath: container.cgroupParent,
      parentLocation: { version: 'v2', dir: container.cgroupParent },
    });
  }

  read(target: UsageTarget, withLimits: boolean): Promise<UsageSnapshot> {
    if (target.kind !== 'cgroup') throw new Error('fake reads cgroups only');
    const id = target.path.split('/').pop() ?? '';
    const c = this.containers.get(id);
    if (c === undefined || !c.running) return Promise.reject(new UsageVanishedError(target.path));
    return Promise.resolve({
      cpuUsageNs: c.cpuNs,
      memoryWorkingSetBytes: c.memory,
      limits: withLimits ? c.limits : null,
    });
  }

  readParentCpuNs(location: CgroupLocation): Promise<bigint> {
    if (location.version !== 'v2') throw new Error('fake parents are v2-shaped');
    return Promise.resolve(this.parentCpuNs(location.dir));
  }

  private get(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (c === undefined) throw new Error(`no container ${id}`);
    return c;
  }
}

export class CollectingPublisher implements SamplePublisher {
  readonly samples: SampleEvent[] = [];
  publish(sample: SampleEvent): void {
    encodeSample(sample); // validates, as the real publishers do
    this.samples.push(sample);
  }
  flush(): Promise<boolean> {
    return Promise.resolve(true);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  depth(): number {
    return 0;
  }
  healthIndicator(): HealthIndicator {
    return () => Promise.resolve({ status: 'up' });
  }
  livenessIndicator(): HealthIndicator {
    return () => Promise.resolve({ status: 'up' });
  }
  of(resourceId: string): SampleEvent[] {
    return this.samples.filter((s) => s.resource.id === resourceId);
  }
  /** What rating would bill: per instance, the CPU of its last sample (counters from zero). */
  meteredCpuNs(filter: (s: SampleEvent) => boolean = () => true): bigint {
    const last = new Map<string, bigint>();
    for (const s of this.samples) {
      if (!filter(s)) continue;
      const key = `${s.resource.id}|${s.resource.instanceId}`;
      const value = BigInt(s.cpu.usageNs);
      if (value > (last.get(key) ?? -1n)) last.set(key, value);
    }
    let total = 0n;
    for (const v of last.values()) total += v;
    return total;
  }
}

export class CountingMetrics implements CollectorMetrics {
  readonly errors = new Map<ReadErrorKind, number>();
  readonly shortLivedCounts = { caught: 0, missed: 0 };
  cycles = 0;
  cycleCompleted(): void {
    this.cycles += 1;
  }
  samplePublished(): void {}
  readError(kind: ReadErrorKind): void {
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
  }
  shortLived(outcome: 'caught' | 'missed'): void {
    this.shortLivedCounts[outcome] += 1;
  }
  residualCpu(): void {}
}

export const silentLog: CollectorLog = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export function testSettings(over: Partial<CollectorSettings> = {}): CollectorSettings {
  return {
    host: 'node-test',
    intervalMs: 10_000,
    youngReadIntervalMs: 0, // tests call readYoung() themselves
    youngWindowMs: 10_000,
    resyncIntervalMs: 0,
    limitsEveryCycles: 6,
    dieGraceMs: 20,
    discoveryConcurrency: 4,
    meterResidual: true,
    residualTenantOf: (path) => /^\/metering\/([^/]+)$/.exec(path)?.[1] ?? null,
    ...over,
  };
}
