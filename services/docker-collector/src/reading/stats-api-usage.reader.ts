import { type CgroupLocation } from '../cgroups';
import { type OneShotStats } from '../discovery/docker-engine.client';
import { type InspectedContainer } from '../discovery/inspected-container';
import { ConcurrencyLimiter } from '@metering/observability';
import { type UsageReader, type UsageSnapshot, type UsageTarget } from './usage-reader';
import { UsageReadError, UsageVanishedError } from './usage.errors';

export interface StatsSource {
  statsOnce(id: string): Promise<OneShotStats | null>;
}

/**
 * The fallback for engines whose cgroups we cannot read (remote, rootless): Docker's stats
 * API, one-shot, at most `concurrency` requests at a time — each costs the engine about a
 * second. Only the cumulative counter is taken; deltas are computed downstream, never the
 * engine's percentage. Limits come from HostConfig. No parent cgroups: no residual metering.
 */
export class StatsApiUsageReader implements UsageReader {
  private readonly limiter: ConcurrencyLimiter;

  constructor(
    private readonly source: StatsSource,
    concurrency: number,
  ) {
    this.limiter = new ConcurrencyLimiter(concurrency);
  }

  locate(container: InspectedContainer): Promise<UsageTarget> {
    return Promise.resolve({
      kind: 'stats-api',
      containerId: container.id,
      configuredLimits: container.configuredLimits,
    });
  }

  async read(target: UsageTarget, withLimits: boolean): Promise<UsageSnapshot> {
    if (target.kind !== 'stats-api') throw new UsageReadError('not a stats-api target');
    let stats: OneShotStats | null;
    try {
      stats = await this.limiter.run(() => this.source.statsOnce(target.containerId));
    } catch (error) {
      throw new UsageReadError(
        `stats API failed for ${target.containerId}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    if (stats === null) throw new UsageVanishedError(`container ${target.containerId}`);
    const { memoryUsageBytes: usage, memoryInactiveFileBytes: inactive } = stats;
    return {
      cpuUsageNs: stats.cpuTotalUsageNs,
      memoryWorkingSetBytes: usage > inactive ? usage - inactive : 0,
      limits: withLimits ? target.configuredLimits : null,
    };
  }

  readParentCpuNs(_location: CgroupLocation): Promise<bigint> {
    return Promise.reject(new UsageReadError('the stats API has no parent cgroups'));
  }
}
