import type Dockerode from 'dockerode';
import { type CgroupDriver } from '../cgroups';
import { CONTAINER_ACTIONS } from './container-event';
import { type InspectedContainer, inspectedContainerOf } from './inspected-container';

/** What the collector asks of the engine. */
export interface ContainerSource {
  /** Ids of the running containers. */
  listRunning(): Promise<string[]>;
  /** Null when the container no longer exists. */
  inspect(id: string): Promise<InspectedContainer | null>;
}

/** Raw one-shot stats, the fields the fallback reader uses. */
export interface OneShotStats {
  readonly read: string;
  readonly cpuTotalUsageNs: bigint;
  readonly memoryUsageBytes: number;
  readonly memoryInactiveFileBytes: number;
}

/** The Docker engine through dockerode: listing, inspect, events, and the stats API. */
export class DockerEngineClient implements ContainerSource {
  constructor(
    private readonly docker: Dockerode,
    private readonly hostCpuCount: number,
  ) {}

  async listRunning(): Promise<string[]> {
    const containers = await this.docker.listContainers({ all: false });
    return containers.map((c) => c.Id);
  }

  async inspect(id: string): Promise<InspectedContainer | null> {
    try {
      const info = await this.docker.getContainer(id).inspect();
      return inspectedContainerOf(info, this.hostCpuCount);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async cgroupDriver(): Promise<CgroupDriver> {
    const info = (await this.docker.info()) as { CgroupDriver?: string };
    return info.CgroupDriver === 'systemd' ? 'systemd' : 'cgroupfs';
  }

  async ping(): Promise<void> {
    await this.docker.ping();
  }

  openEvents(since: number | undefined, signal: AbortSignal): Promise<NodeJS.ReadableStream> {
    return this.docker.getEvents({
      ...(since === undefined ? {} : { since }),
      filters: { type: ['container'], event: [...CONTAINER_ACTIONS] },
      abortSignal: signal,
    });
  }

  /**
   * One reading through the stats API (`stream=false`, `one-shot=true`: no second sample
   * for a precomputed percentage; we compute deltas from the cumulative counter ourselves).
   * Null when the container is gone or no longer running.
   */
  async statsOnce(id: string): Promise<OneShotStats | null> {
    let stats: Dockerode.ContainerStats;
    try {
      stats = await this.docker.getContainer(id).stats({ stream: false, 'one-shot': true });
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
    const total = stats.cpu_stats?.cpu_usage?.total_usage;
    if (stats.read === undefined || stats.read.startsWith('0001-') || total === undefined) {
      return null; // a stopped container answers with zero time and no counters
    }
    const memStats = (stats.memory_stats?.stats ?? {}) as Record<string, number | undefined>;
    return {
      read: stats.read,
      cpuTotalUsageNs: BigInt(Math.trunc(total)),
      memoryUsageBytes: stats.memory_stats?.usage ?? 0,
      memoryInactiveFileBytes: memStats.total_inactive_file ?? memStats.inactive_file ?? 0,
    };
  }
}

function isNotFound(error: unknown): boolean {
  return (error as { statusCode?: unknown } | null)?.statusCode === 404;
}
