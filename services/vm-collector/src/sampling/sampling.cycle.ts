import { INFERRED_REASONS, type SampleEvent } from '@metering/contracts';
import { type DomainReading, type HostObservation } from './domain-reading';
import { type FollowedInstance } from './followed-instances';
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
  /**
   * Followed by an earlier run of the collector (restore) and not seen by this one yet: if its
   * connection answers without it, it ended while no collector looked, and its final is inferred.
   */
  restored: boolean;
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

  /** When this run started following what an earlier run left (restore). */
  private restoredAt: Date | null = null;
  /** Counts the changes to what followed() returns: the same number, the same state. */
  private changes = 0;

  constructor(private readonly options: SamplingCycleOptions) {}

  /**
   * Takes on the instances an earlier run of the collector followed (its state file). Each is
   * settled by the first successful poll of its connection: still there as the same instance, it
   * goes on (a `start` sample, as after any restart, same instance id); gone or replaced by
   * another boot, it gets a `final` marked `inferred`: its last reading, stamped when it was taken
   * (the last moment a collector proved the domain existed), with `detectedAt` the time of that
   * poll. What happened between the two was not seen; rating records it as a gap.
   */
  restore(instances: readonly FollowedInstance[], restartedAt: Date): void {
    this.restoredAt = restartedAt;
    this.changes += 1;
    for (const i of instances) {
      const key = domainKey(i.uri, i.uuid);
      if (this.instances.has(key)) continue;
      this.instances.set(key, { ...i, published: 0, restored: true });
    }
  }

  /**
   * Grows whenever what followed() returns changes (an instance started, ended, read again or
   * published): the state file need not be encoded again while it stays the same.
   */
  revision(): number {
    return this.changes;
  }

  /** What the state file keeps: every instance followed now (restored ones not yet settled too). */
  followed(): FollowedInstance[] {
    return [...this.instances.values()].map((t) => ({
      uri: t.uri,
      uuid: t.uuid,
      domainId: t.domainId,
      instanceId: t.instanceId,
      startedAt: t.startedAt,
      cpuBaselineNs: t.cpuBaselineNs,
      bootKey: t.bootKey,
      last: t.last,
      lastPublishedAt: t.lastPublishedAt,
    }));
  }

  /**
   * One poll of every connection. `at` is when it was made (the collector clock): the
   * `detectedAt` of inferred finals; without it, the time restore() was given.
   */
  poll(
    observations: readonly HostObservation[],
    emitRunning: boolean,
    at: Date | null = null,
  ): PollResult {
    const detectedAt = at ?? this.restoredAt;
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
          // A watch poll answers a settled domain with the reading it already holds: no change.
          if (reading !== tracked.last) this.changes += 1;
          tracked.last = reading;
          if (tracked.restored) {
            // Followed before the restart and still running: goes on as the same instance (its
            // counter baseline too), announced with `start` like any instance a run first sees.
            tracked.restored = false;
            samples.push(this.publish(tracked, reading, 'start'));
            continue;
          }
          if (emitRunning) samples.push(this.publish(tracked, reading, 'running'));
          continue;
        }
        if (tracked !== undefined) {
          // Restarted between two polls: the old boot ends, a new one begins.
          samples.push(this.finalOf(tracked, detectedAt));
          this.instances.delete(key);
          this.changes += 1;
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
          samples.push(this.finalOf(tracked, detectedAt));
          this.instances.delete(key);
          this.changes += 1;
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
      restored: false,
    };
    this.instances.set(key, instance);
    this.changes += 1;
    return instance;
  }

  private publish(
    instance: TrackedInstance,
    reading: DomainReading,
    lifecycle: 'start' | 'running',
  ): SampleEvent {
    instance.lastPublishedAt = reading.observedAt;
    this.changes += 1;
    const sequence = instance.published++;
    return sampleOf(instance, reading, lifecycle, reading.observedAt, this.options, sequence);
  }

  /**
   * The final sample repeats the last reading. When that reading was already published (the
   * domain vanished right after a `running` sample), it is stamped 1 ms later so that it is a
   * reading of its own — another sample id, not deduplicated away with its `final` mark.
   */
  private finalOf(instance: TrackedInstance, detectedAt: Date | null): SampleEvent {
    const observedAt =
      instance.last.observedAt > instance.lastPublishedAt
        ? instance.last.observedAt
        : new Date(instance.lastPublishedAt.getTime() + 1);
    const sequence = instance.published++;
    const sample = sampleOf(instance, instance.last, 'final', observedAt, this.options, sequence);
    if (!instance.restored) return sample;
    // Ended while no collector looked: the last reading is all that is known of its end.
    const detected = detectedAt !== null && detectedAt > observedAt ? detectedAt : observedAt;
    return {
      ...sample,
      inferred: {
        reason: INFERRED_REASONS.collectorRestart,
        lastSeenAt: instance.last.observedAt.toISOString(),
        detectedAt: detected.toISOString(),
      },
    };
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
