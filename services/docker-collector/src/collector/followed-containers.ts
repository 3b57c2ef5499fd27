import { INFERRED_REASONS, type SampleEvent, sampleIdOf } from '@metering/contracts';
import { type ContainerSource } from '../discovery/docker-engine.client';
import { type TenantResolver } from '../discovery/tenant.resolver';
import { identityOf } from '../sampling/reading';
import {
  type Clock,
  type CollectorLog,
  type CollectorMetrics,
  type FollowedStore,
} from './collector.ports';

/** What FollowedContainers needs of the collector's ports. */
export interface FollowedPorts {
  readonly source: Pick<ContainerSource, 'inspect'>;
  readonly tenants: TenantResolver;
  readonly clock: Clock;
  readonly metrics: CollectorMetrics;
  readonly log: CollectorLog;
  readonly followedStore?: FollowedStore;
}

/**
 * The container instances the collector follows, kept across its restarts (README, "Across
 * restarts", 4.): the last sample published for each, saved beside the spool every cycle. A
 * restarted collector loads what the previous run followed and settles it at its first listing:
 * instances still running go on; the others — exited, removed, or running as another instance —
 * get a final inferred from their last sample. Without a store, nothing is kept (as before).
 */
export class FollowedContainers {
  /** The last sample published per container followed now (its instance, its JSON), by id. */
  private readonly lastSamples = new Map<string, { instanceId: string; json: Uint8Array }>();
  /** Followed by the previous run and not settled yet, by container id. */
  private readonly remembered = new Map<string, SampleEvent>();
  /** The JSON of the remembered samples, made once. */
  private readonly rememberedJson = new Map<string, Uint8Array>();
  /**
   * Whether the set of instances followed changed since the last save (then synced to disk). Kept
   * as samples come, not found by comparing every instance id at every save: at 10,000 containers
   * a sort and join of the ids every cycle cost more than the rest of the save but the JSON.
   */
  private changed = true;
  private failing = false;

  constructor(private readonly ports: FollowedPorts) {}

  /** Whether some instance the previous run followed is not settled yet. */
  get unsettled(): boolean {
    return this.remembered.size > 0;
  }

  /**
   * Notes a container sample handed to the publisher (never a residual's), with its JSON when the
   * publisher made it (the record's value); otherwise it is encoded here.
   */
  published(sample: SampleEvent, json?: Uint8Array): void {
    const id = sample.resource.id;
    if (sample.lifecycle === 'final') {
      if (this.lastSamples.delete(id)) this.changed = true;
      return;
    }
    const instanceId = sample.resource.instanceId;
    if (this.lastSamples.get(id)?.instanceId !== instanceId) this.changed = true;
    this.lastSamples.set(id, { instanceId, json: json ?? Buffer.from(JSON.stringify(sample)) });
  }

  /** What the previous run followed (its state file); an unusable file is logged and counted. */
  load(): void {
    const store = this.ports.followedStore;
    if (store === undefined) return;
    const loaded = store.load();
    if (loaded.kind === 'unusable') {
      this.ports.metrics.readError('followed_state_failed');
      this.ports.log.error(
        { path: store.path, problem: loaded.problem },
        'the followed-containers state file is unusable and is ignored: containers that ended ' +
          'while the collector was down get no final sample this time',
      );
      return;
    }
    if (loaded.kind === 'loaded') {
      for (const s of loaded.samples) this.remembered.set(s.resource.id, s);
      this.changed = true;
      this.ports.log.info(
        { containers: loaded.samples.length, path: store.path },
        'restored the containers the previous run followed',
      );
    }
  }

  /**
   * After a listing of running containers (`running`; `instanceOf` the instance followed now for
   * an id): a remembered instance still running goes on (discovered again: `start`); one gone, or
   * running as another instance (restarted while the collector was down), gets a final inferred
   * from its last published sample: its counters, stamped 1 ms after it, `detectedAt` the
   * instance's exit as the engine still knows it (`State.FinishedAt`), else now. A running one
   * that could not be discovered waits for the next listing.
   */
  async settle(
    running: ReadonlySet<string>,
    instanceOf: (id: string) => string | undefined,
    emit: (sample: SampleEvent) => void,
  ): Promise<void> {
    for (const [id, last] of [...this.remembered]) {
      if (running.has(id)) {
        const now = instanceOf(id);
        if (now === undefined) continue;
        if (now === last.resource.instanceId) {
          this.remembered.delete(id);
          this.changed = true;
          continue;
        }
      }
      const observedMs = Date.parse(last.observedAt) + 1;
      let detectedMs = Math.max(this.ports.clock.now(), observedMs);
      const exit = await this.exitOf(id, last);
      if (exit !== null && exit >= observedMs && exit < detectedMs) detectedMs = exit;
      this.remembered.delete(id);
      this.changed = true;
      emit(inferredFinal(last, observedMs, detectedMs));
      this.ports.log.info(
        { containerId: id, instanceId: last.resource.instanceId, lastSeenAt: last.observedAt },
        'container instance ended while the collector was down (final inferred)',
      );
    }
  }

  /**
   * Keeps the instances followed (their last samples) and the unsettled remembered ones, synced
   * when the set changed. A failure is logged once per streak; metering goes on.
   */
  save(): void {
    const store = this.ports.followedStore;
    if (store === undefined) return;
    const samples: Uint8Array[] = [];
    for (const followed of this.lastSamples.values()) samples.push(followed.json);
    for (const [id, sample] of this.remembered) {
      let json = this.rememberedJson.get(id);
      if (json === undefined) {
        json = Buffer.from(JSON.stringify(sample));
        this.rememberedJson.set(id, json);
      }
      samples.push(json);
    }
    for (const id of this.rememberedJson.keys()) {
      if (!this.remembered.has(id)) this.rememberedJson.delete(id);
    }
    try {
      store.save(samples, this.changed);
      this.changed = false;
      this.failing = false;
    } catch (error) {
      this.ports.metrics.readError('followed_state_failed');
      this.ports.log[this.failing ? 'debug' : 'error'](
        { err: error, path: store.path },
        'cannot write the followed-containers state file; a restart may miss containers’ ends',
      );
      this.failing = true;
    }
  }

  /** When the engine says this instance exited (collector time), or null if it cannot tell. */
  private async exitOf(id: string, last: SampleEvent): Promise<number | null> {
    try {
      const container = await this.ports.source.inspect(id);
      if (container === null || container.running || container.finishedAt === null) return null;
      const identity = identityOf(container, this.ports.tenants.tenantOf(container.labels));
      if (identity.instanceId !== last.resource.instanceId) return null;
      const wall = Date.parse(container.finishedAt);
      return Number.isFinite(wall) ? this.ports.clock.fromWall(wall) : null;
    } catch {
      return null;
    }
  }
}

/** The final of an instance that ended unseen: its last sample's reading, marked inferred. */
function inferredFinal(last: SampleEvent, observedMs: number, detectedMs: number): SampleEvent {
  const observedAt = new Date(observedMs).toISOString();
  return {
    ...last,
    sampleId: sampleIdOf({
      source: 'docker',
      host: last.host,
      resourceId: last.resource.id,
      instanceId: last.resource.instanceId,
      observedAt,
    }),
    observedAt,
    sequence: 0,
    lifecycle: 'final',
    inferred: {
      reason: INFERRED_REASONS.collectorRestart,
      lastSeenAt: last.observedAt,
      detectedAt: new Date(detectedMs).toISOString(),
    },
  };
}
