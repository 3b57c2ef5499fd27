import { performance } from 'node:perf_hooks';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  Optional,
} from '@nestjs/common';
import { ContractViolationError, type SampleEvent } from '@metering/contracts';
import {
  createLogger,
  HealthRegistry,
  type HealthIndicatorResult,
  type Logger,
  ROOT_LOGGER,
} from '@metering/observability';
import { SAMPLE_PUBLISHER, type SamplePublisher } from '@metering/spool';
import { VM_COLLECTOR_CONFIG, type VmCollectorConfig } from '../config';
import { type DomainSource } from '../discovery';
import { type FollowedDomainsStore } from '../persistence';
import { type HostObservation, SamplingCycle } from '../sampling';
import { CollectorMetrics } from './collector.metrics';

export const DOMAIN_SOURCE = Symbol('DOMAIN_SOURCE');
/** The collector clock (CollectorClock of @metering/spool, ADR 0009) the readings are stamped by. */
export const COLLECTOR_CLOCK = Symbol('COLLECTOR_CLOCK');
/** Where the instances followed are kept across restarts (FollowedDomainsStore); absent: nowhere. */
export const FOLLOWED_STORE = Symbol('FOLLOWED_STORE');

/** What the service needs of the collector clock: its time, epoch ms. */
export interface ReadingClock {
  now(): number;
}

const WALL_CLOCK: ReadingClock = { now: () => Date.now() };

/** A change signalled by the source is looked at this soon: a burst of them makes one poll. */
const CHANGE_DELAY_MS = 50;

/**
 * Runs the sampling cycle: polls every libvirt connection each pollIntervalMs (cheap: one
 * list of ids, and the info of young domains, or of all with WATCH_READS=all), so starts and
 * stops are caught within a poll, and
 * publishes `running` samples each sampleIntervalMs. With LIFECYCLE_WATCH=run-dir the polls
 * between samples are left out while the source is settled (its starts and stops signalled,
 * no young domain): the collector then sleeps until the next sample or a change, which it
 * looks at within CHANGE_DELAY_MS, then polls each pollIntervalMs for two intervals more.
 * Polls never overlap; a slow poll delays the next one rather than piling up; a change during
 * a poll makes another. Publishing only queues (the spool), so a slow or absent Kafka never
 * slows the cycle.
 */
@Injectable()
export class VmCollectorService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger: Logger;
  private readonly cycle: SamplingCycle;
  private timer: NodeJS.Timeout | undefined;
  /** When the pending timer fires (performance.now()). */
  private timerDueAt = Number.POSITIVE_INFINITY;
  private current: Promise<void> | undefined;
  private polling = false;
  /** A change was signalled while a poll ran: poll again right after it. */
  private changedDuringPoll = false;
  /** When the source last signalled a change (performance.now()). */
  private lastChangeAt = Number.NEGATIVE_INFINITY;
  private stopped = false;
  private lastRunningAtMs = Number.NEGATIVE_INFINITY;
  private lastObservations = new Map<string, HostObservation>();
  private failingDomains = new Set<string>();
  /** Instance ids followed at the last save: a change of the set is synced to disk. */
  private savedInstances = '';
  /** The cycle's revision() at the last save: the same, nothing to write. */
  private savedRevision = -1;
  private stateFailing = false;
  private readonly unregister: (() => void)[] = [];

  constructor(
    @Inject(VM_COLLECTOR_CONFIG) private readonly config: VmCollectorConfig,
    @Inject(DOMAIN_SOURCE) private readonly source: DomainSource,
    @Inject(SAMPLE_PUBLISHER) private readonly publisher: SamplePublisher,
    private readonly metrics: CollectorMetrics,
    private readonly health: HealthRegistry,
    @Inject(ROOT_LOGGER) root: Logger,
    /** The readings' clock: connections' `lastOkAt` are on its time line. */
    @Optional() @Inject(COLLECTOR_CLOCK) private readonly clock: ReadingClock = WALL_CLOCK,
    @Optional() @Inject(FOLLOWED_STORE) private readonly store: FollowedDomainsStore | null = null,
  ) {
    this.logger = createLogger(VmCollectorService.name, { parent: root });
    this.cycle = new SamplingCycle({
      defaultTenant: config.defaultTenant,
      memoryUsage: config.memoryUsage,
      intervalMs: config.sampleIntervalMs,
      // A starting QEMU writes its pid file within a second; wait up to ~2 s for it.
      maxProcessWaitPolls: Math.max(1, Math.ceil(2_000 / config.pollIntervalMs)),
    });
  }

  onApplicationBootstrap(): void {
    this.metrics.initialise(this.config.libvirtUris);
    // Readiness: libvirt answering, the spool writable. A libvirtd outage makes the collector
    // not ready; restarting it would drop the start and final samples it holds in memory.
    // Liveness: only the Kafka forwarder having stopped for good (a restart resumes the spool).
    this.unregister.push(
      this.health.register('libvirt', () => Promise.resolve(this.libvirtHealth())),
      this.health.register('publisher', this.publisher.healthIndicator()),
      this.health.register('publisher-forwarder', this.publisher.livenessIndicator(), {
        probe: 'liveness',
      }),
    );
    this.logger.info(
      {
        uris: this.config.libvirtUris,
        sampleIntervalMs: this.config.sampleIntervalMs,
        pollIntervalMs: this.config.pollIntervalMs,
        memoryUsage: this.config.memoryUsage,
        topic: this.config.topic,
      },
      'sampling libvirt domains',
    );
    this.restoreFollowed();
    if (this.config.lifecycleWatch === 'run-dir') {
      const problem = this.source.watch(() => this.changed());
      if (problem !== null) {
        this.logger.warn(
          { dir: this.config.qemuRunDir, problem },
          'cannot watch the QEMU run directory: polling every POLL_INTERVAL_MS (tried again at each sample)',
        );
      }
    }
    this.schedule(0);
  }

  /**
   * Takes on what the previous run followed (README, "Across restarts"): domains that ended while
   * no collector ran get an inferred final at the first poll of their connection. A file that
   * cannot be used is logged and set aside; metering goes on as without one.
   */
  private restoreFollowed(): void {
    if (this.store === null) return;
    const loaded = this.store.load();
    switch (loaded.kind) {
      case 'none':
        return;
      case 'unusable':
        this.metrics.error('state');
        this.logger.error(
          { path: this.store.path, problem: loaded.problem },
          'the followed-domains state file is unusable and is ignored: domains that ended ' +
            'while the collector was down get no final sample this time',
        );
        return;
      case 'loaded': {
        const uris = new Set(this.config.libvirtUris);
        const kept = loaded.instances.filter((i) => uris.has(i.uri));
        if (kept.length < loaded.instances.length) {
          this.logger.warn(
            { dropped: loaded.instances.length - kept.length },
            'followed domains of libvirt URIs no longer configured are forgotten',
          );
        }
        this.cycle.restore(kept, new Date(this.clock.now()));
        this.logger.info(
          { instances: kept.length, path: this.store.path },
          'restored the domains the previous run followed',
        );
        return;
      }
    }
  }

  /**
   * Saves what is followed before the poll's samples are published: a crash in between then
   * leaves a state no older than the spool, so an inferred final is never older than a sample
   * already spooled (rating would ignore it as out of order).
   */
  private saveFollowed(): void {
    if (this.store === null) return;
    // Most polls between samples change nothing: not even the encoding is done again.
    const revision = this.cycle.revision();
    if (revision === this.savedRevision) return;
    const followed = this.cycle.followed();
    const ids = followed
      .map((f) => f.instanceId)
      .sort()
      .join('\n');
    try {
      this.store.save(followed, ids !== this.savedInstances);
      this.savedInstances = ids;
      this.savedRevision = revision;
      if (this.stateFailing) this.logger.info('the followed-domains state file is written again');
      this.stateFailing = false;
    } catch (error) {
      this.metrics.error('state');
      this.logger[this.stateFailing ? 'debug' : 'error'](
        { err: error, path: this.store.path },
        'cannot write the followed-domains state file; a restart may miss the end of domains',
      );
      this.stateFailing = true;
    }
  }

  /** Stops polling, then gives the publisher time to hand what it holds to Kafka. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current;
    for (const unregister of this.unregister.splice(0)) unregister();
    try {
      await this.publisher.flush(this.config.shutdownFlushMs);
    } catch (error) {
      this.logger.warn({ err: error }, 'samples not yet in Kafka stay in the spool');
    }
    await this.publisher.close(this.config.shutdownFlushMs);
    await this.source.close();
  }

  /** One poll; exposed for the service's own tests. Resolves when its samples are queued. */
  async pollOnce(): Promise<SampleEvent[]> {
    const started = performance.now();
    // Half a poll of slack keeps the cadence at the interval instead of interval + 1 poll.
    const emitRunning =
      started - this.lastRunningAtMs >=
      this.config.sampleIntervalMs - this.config.pollIntervalMs / 2;
    // The polls between samples only watch for starts and ends (and keep the CPU reading
    // fresh for a final sample): they need fewer calls than a sampling poll.
    const observations = await this.source.observe({ full: emitRunning });
    if (emitRunning) this.lastRunningAtMs = started;
    this.noteObservations(observations);
    const { samples, tracked, waiting } = this.cycle.poll(
      observations,
      emitRunning,
      new Date(this.clock.now()),
    );
    this.saveFollowed();
    const published: SampleEvent[] = [];
    for (const sample of samples) {
      try {
        this.publisher.publish(sample);
        this.metrics.published(sample.lifecycle);
        published.push(sample);
      } catch (error) {
        this.metrics.error('publish');
        const level = error instanceof ContractViolationError ? 'error' : 'warn';
        this.logger[level]({ err: error, resourceId: sample.resource.id }, 'sample not published');
      }
      if (sample.lifecycle !== 'running') {
        this.logger.info(
          {
            lifecycle: sample.lifecycle,
            domain: sample.resource.name,
            uuid: sample.resource.id,
            instanceId: sample.resource.instanceId,
            tenantId: sample.resource.tenantId,
            ...(sample.inferred === undefined ? {} : { inferred: sample.inferred }),
          },
          sample.lifecycle === 'start'
            ? 'domain instance started'
            : sample.inferred === undefined
              ? 'domain instance ended'
              : 'domain instance ended while the collector was down (final inferred)',
        );
      }
    }
    this.metrics.tracked(tracked, waiting);
    this.metrics.polled(emitRunning ? 'sample' : 'poll', (performance.now() - started) / 1000);
    return published;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timerDueAt = performance.now() + delayMs;
    this.timer = setTimeout(() => {
      const started = performance.now();
      this.timerDueAt = Number.POSITIVE_INFINITY;
      this.polling = true;
      this.changedDuringPoll = false;
      this.current = this.pollOnce()
        .then(() => undefined)
        .catch((error: unknown) => {
          // A bug, not an outage (those are observations): keep polling, but say so.
          this.metrics.error('cycle');
          this.logger.error({ err: error }, 'poll failed');
        })
        .finally(() => {
          this.polling = false;
          const elapsed = performance.now() - started;
          this.schedule(this.changedDuringPoll ? CHANGE_DELAY_MS : this.nextDelayMs(elapsed));
        });
    }, delayMs);
  }

  /**
   * Until the next poll: a poll interval, or, while nothing needs watching (the source settled,
   * no change for two poll intervals), until the next sample is due.
   */
  private nextDelayMs(elapsedMs: number): number {
    const interval = Math.max(0, this.config.pollIntervalMs - elapsedMs);
    const now = performance.now();
    const quiet =
      this.config.lifecycleWatch === 'run-dir' &&
      now - this.lastChangeAt >= 2 * this.config.pollIntervalMs &&
      this.source.settled();
    if (!quiet) return interval;
    return Math.max(interval, this.lastRunningAtMs + this.config.sampleIntervalMs - now);
  }

  /** The source saw a domain start, stop or change: the next poll comes at once. */
  private changed(): void {
    this.lastChangeAt = performance.now();
    if (this.polling) {
      this.changedDuringPoll = true;
      return;
    }
    if (this.stopped || this.timerDueAt - performance.now() <= CHANGE_DELAY_MS) return;
    clearTimeout(this.timer);
    this.schedule(CHANGE_DELAY_MS);
  }

  private noteObservations(observations: readonly HostObservation[]): void {
    for (const observation of observations) {
      const before = this.lastObservations.get(observation.uri);
      this.lastObservations.set(observation.uri, observation);
      if (observation.ok) {
        this.metrics.connection(
          observation.uri,
          true,
          observation.listed,
          observation.domains.length,
        );
        if (before !== undefined && !before.ok) {
          this.logger.info({ uri: observation.uri }, 'libvirt connection is back');
        }
        continue;
      }
      this.metrics.connection(observation.uri, false);
      this.metrics.error('connection');
      // Loud on the first failure of a streak, quiet while it lasts.
      const level = before === undefined || before.ok ? 'warn' : 'debug';
      this.logger[level](
        { uri: observation.uri, error: observation.error },
        'libvirt connection unavailable; its domains are kept, not finalised',
      );
    }
    // Counted every time; logged loudly when a domain starts failing, not every poll.
    const failing = new Set<string>();
    for (const error of this.source.errors()) {
      this.metrics.error(error.stage === 'metadata' ? 'metadata' : 'domain_read');
      const key = `${error.uri}\n${error.domain}\n${error.stage}`;
      failing.add(key);
      this.logger[this.failingDomains.has(key) ? 'debug' : 'warn'](
        error,
        'domain could not be read',
      );
    }
    this.failingDomains = failing;
  }

  /**
   * Up when every connection answered its last poll and polls are not stalled. The detail
   * names each connection's last error, so /healthz says which URI is the problem.
   */
  libvirtHealth(): HealthIndicatorResult {
    const stalledAfterMs = Math.max(3 * this.config.sampleIntervalMs, 30_000);
    const now = this.clock.now();
    const connections = this.source.connections().map((c) => ({
      uri: c.uri,
      connected: c.connected,
      lastError: c.lastError,
      lastOkAt: c.lastOkAt?.toISOString() ?? null,
      domainsActive: this.activeCount(c.uri),
      up:
        c.lastOkAt !== null && c.lastError === null && now - c.lastOkAt.getTime() < stalledAfterMs,
    }));
    return {
      status: connections.every((c) => c.up) ? 'up' : 'down',
      detail: { connections },
    };
  }

  private activeCount(uri: string): number | null {
    const observation = this.lastObservations.get(uri);
    return observation?.ok ? observation.domains.length : null;
  }
}
