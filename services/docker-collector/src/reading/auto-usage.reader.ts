import { type CgroupLocation } from '../cgroups';
import { type InspectedContainer } from '../discovery/inspected-container';
import { type UsageReader, type UsageSnapshot, type UsageTarget } from './usage-reader';
import { UsageVanishedError } from './usage.errors';

/**
 * cgroup files when this container's can be read, the stats API otherwise — decided per
 * container at discovery, by actually reading its cgroup once.
 */
export class AutoUsageReader implements UsageReader {
  constructor(
    private readonly cgroups: UsageReader,
    private readonly statsApi: UsageReader,
    private readonly onFallback: (container: InspectedContainer, error: unknown) => void,
  ) {}

  async locate(container: InspectedContainer): Promise<UsageTarget> {
    let target: UsageTarget | null = null;
    try {
      target = await this.cgroups.locate(container);
      await this.cgroups.read(target, false);
      return target;
    } catch (error) {
      // Gone already: the container exited, which says nothing about readability.
      if (error instanceof UsageVanishedError && target !== null) return target;
      this.onFallback(container, error);
      return this.statsApi.locate(container);
    }
  }

  read(target: UsageTarget, withLimits: boolean): Promise<UsageSnapshot> {
    return (target.kind === 'cgroup' ? this.cgroups : this.statsApi).read(target, withLimits);
  }

  readSync(target: UsageTarget, withLimits: boolean): UsageSnapshot | undefined {
    return target.kind === 'cgroup' ? this.cgroups.readSync?.(target, withLimits) : undefined;
  }

  readParentCpuNs(location: CgroupLocation): Promise<bigint> {
    return this.cgroups.readParentCpuNs(location);
  }
}
