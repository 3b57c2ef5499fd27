import { type SampleEvent } from '@metering/contracts';
import { type DomainReading, type HostObservation } from './domain-reading';
import { instanceIdOf } from './instance-id';
import { type SampleFactoryOptions, sampleOf } from './sample.factory';

export interface SamplingCycleOptions extends SampleFactoryOptions {
  /**
   * Polls a new domain of a connection with QEMU processes (processExpected) may wait for
   * its process to become readable before it is tracked without one. A domain that is
   * starting is listed a moment before QEMU writes its pid file; waiting keeps its
   * instance id the same one a restarted collector would derive.
   */
  readonly maxProcessWaitPolls: number;
}

export interface PollResult {
  readonly samples: SampleEvent[];
  /** Instances being tracked after this poll (active domains with an instance). */
  readonly tracked: number;
  /** New domains waiting for their QEMU process to be readable. */
  readonly waiting: number;
}

interface TrackedInstance {
  readonly uri: string;
  readonly uuid: string;
  readonly domainId: number;
  readonly instanceId: string;
  readonly startedAt: Date;
  /** cpuTime at first sight when the process's start is unknown (the counter is rebased); else 0. */
  readonly cpuBaselineNs: bigint;
  /** The boot key the instance id was derived from, null when derived without a process. */
  readonly bootKey: string | null;
  last: DomainReading;
  /** observedAt of the last sample published for the instance. */
  lastPublishedAt: Date;
  /** Samples published for the instance by this collector run: the next one's `sequence`. */
  published: number;
}

/**
 * The sampling cycle: turns polls of the libvirt connections into samples. Pure (no I/O, no
 * clock): each poll passes the readings, and whether `running` samples are due.
 *
 * Per instance (one boot of a domain) the samples read `start`, `running`…, `final`:
 * - `start`: the first poll that shows the instance (or the first poll of a collector that
 *   just started: it cannot know whether it saw the boot, and rating does not care —
 *   instance id and startedAt are what count).
 * - `running`: every poll with `emitRunning` (the sample interval).
 * - `final`: the first successful poll of its connection that no longer shows it active,
 *   or shows the domain with another instance (a restart between two polls). It carries the
 *   last reading, so at most one poll interval of usage is missed at the end. Readings
 *   whose counter went down (a domain being torn down) are not readings of the instance.
 * A connection that cannot be read changes nothing: its instances are not finalised (the
 * VMs are most likely running on) and get samples again once it answers.
 */
export class SamplingCycle {
  private readonly instances = new Map<string, TrackedInstance>();
  /** Polls waited by new domains whose process is not readable yet, by domain key + id. */
  private readonly waitingPolls = new Map<string, number>();

  constructor(private readonly options: SamplingCycleOptions) {}

  poll(observations: readonly HostObservation[], emitRunning: boolean): PollResult {
    const samples: SampleEvent[] = [];
    const stillWaiting = new Set<string>();
    for (const observation of observations) {
      if (!observation.ok) {
        for (const key of this.waitingPolls.keys()) {
          if (key.startsWith(`${observation.uri}\n`)) stillWaiting.add(key);
        }
        continue;
      }
      const seen = new Set<string>(
        observation.unreadable.map((uuid) => domainKey(observation.uri, uuid)),
      );
      for (const reading of observation.domains) {
        const key = domainKey(reading.uri, reading.uuid);
        seen.add(key);
        const tracked = this.instances.get(key);
        if (tracked !== undefined && sameInstance(tracked, reading)) {
          // The counter of one QEMU process only grows. A lower one is libvirt reading a
          // domain whose QEMU has just died but which is not inactive yet (it reports 0):
          // the end of the instance, not a reading. The last good reading stays the last.
          if (reading.cpuTimeNs < tracked.last.cpuTimeNs) continue;
          tracked.last = reading;
          if (emitRunning) samples.push(this.publish(tracked, reading, 'running'));
          continue;
        }
        if (tracked !== undefined) {
          // Restarted between two polls: the old boot ends, a new one begins.
          samples.push(this.finalOf(tracked));
          this.instances.delete(key);
        }
        if (reading.processExpected && reading.process === null) {
          const waitKey = `${key}\n${reading.domainId}`;
          const waited = this.waitingPolls.get(waitKey) ?? 0;
          if (waited < this.options.maxProcessWaitPolls) {
            this.waitingPolls.set(waitKey, waited + 1);
            stillWaiting.add(waitKey);
            continue;
          }
        }
        const started = this.track(key, reading);
        samples.push(this.publish(started, reading, 'start'));
      }
      for (const [key, tracked] of this.instances) {
        if (tracked.uri === observation.uri && !seen.has(key)) {
          samples.push(this.finalOf(tracked));
          this.instances.delete(key);
        }
      }
    }
    for (const key of this.waitingPolls.keys()) {
      if (!stillWaiting.has(key)) this.waitingPolls.delete(key);
    }
    return { samples, tracked: this.instances.size, waiting: this.waitingPolls.size };
  }

  /**
   * Starts following an instance. Without its QEMU process (a remote URI, a process not readable)
   * the start of its counter is unknown: claiming "since first seen" for a counter that ran since
   * boot would put all of it in one instant (rating refuses that as IMPLAUSIBLE_CPU). So the
   * counter is rebased to its value at first sight — CPU before metering saw the domain is not
   * claimed — and the instance id includes that moment, so a restarted collector, rebasing anew,
   * starts a new instance instead of a counter that seems to go back.
   */
  private track(key: string, reading: DomainReading): TrackedInstance {
    const bootKey = reading.process?.bootKey ?? null;
    const rebased = reading.process === null;
    const idKey = rebased ? `first-seen:${reading.observedAt.getTime()}` : bootKey;
    const instance: TrackedInstance = {
      uri: reading.uri,
      uuid: reading.uuid,
      domainId: reading.domainId,
      instanceId: instanceIdOf({ uuid: reading.uuid, domainId: reading.domainId, bootKey: idKey }),
      startedAt: reading.process?.startedAt ?? reading.observedAt,
      cpuBaselineNs: rebased ? reading.cpuTimeNs : 0n,
      bootKey,
      last: reading,
      lastPublishedAt: new Date(0),
      published: 0,
    };
    this.instances.set(key, instance);
    return instance;
  }

  private publish(
    instance: TrackedInstance,
    reading: DomainReading,
    lifecycle: 'start' | 'running',
  ): SampleEvent {
    instance.lastPublishedAt = reading.observedAt;
    const sequence = instance.published++;
    return sampleOf(instance, reading, lifecycle, reading.observedAt, this.options, sequence);
  }

  /**
   * The final sample repeats the last reading. When that reading was already published (the
   * domain vanished right after a `running` sample), it is stamped 1 ms later so that it is a
   * reading of its own — another sample id, not deduplicated away with its `final` mark.
   */
  private finalOf(instance: TrackedInstance): SampleEvent {
    const observedAt =
      instance.last.observedAt > instance.lastPublishedAt
        ? instance.last.observedAt
        : new Date(instance.lastPublishedAt.getTime() + 1);
    const sequence = instance.published++;
    return sampleOf(instance, instance.last, 'final', observedAt, this.options, sequence);
  }
}

function domainKey(uri: string, uuid: string): string {
  return `${uri}\n${uuid}`;
}

/**
 * The same boot: libvirt gives a domain a new id on every start. The boot key is compared
 * only when both sides have one, so a process that was not readable at one poll does not
 * split an instance in two (its id is fixed at first sight).
 */
function sameInstance(tracked: TrackedInstance, reading: DomainReading): boolean {
  if (tracked.domainId !== reading.domainId) return false;
  const bootKey = reading.process?.bootKey;
  return tracked.bootKey === null || bootKey === undefined || bootKey === tracked.bootKey;
}
