import { randomUUID } from 'node:crypto';
import { tinyDomainXml } from '@metering/infra-local/dist/test/tiny-domain';
import { localInfra } from '@metering/testing';
import { LibvirtDomain } from '../kernel/libvirt-accounting';
import { type LevelReading, byteSeconds } from '../kernel/memory-integral';

export interface DomainAccount {
  readonly name: string;
  readonly uuid: string;
  readonly lifetimeSeconds: number;
  /** libvirt's cpu.time after the domain was paused, right before it was destroyed. */
  readonly cpuTimeNs: bigint;
  /** ∫ QEMU resident set dt from creation to destruction, from the test's own readings. */
  readonly memoryByteSeconds: number;
  readonly meanRssBytes: number;
}

/**
 * A tenant's KVM virtual machine: infra/local's tiny domain (128 MiB, one vCPU capped at a
 * quarter core, no disk, no network interface) with the tenant in its metadata, on
 * qemu:///system. The test reads its QEMU process's resident set itself every `sampleEveryMs`.
 */
export class TenantDomain {
  readonly uuid = randomUUID();
  readonly domain: LibvirtDomain;
  private readonly readings: LevelReading[] = [];
  private sampler: NodeJS.Timeout | undefined;
  private createdAtMs = 0;
  private destroyedAtMs = 0;
  private finalCpuNs = 0n;

  constructor(
    readonly tenant: string,
    readonly name: string,
  ) {
    this.domain = new LibvirtDomain(localInfra.libvirtUri, name);
  }

  async start(sampleEveryMs: number): Promise<void> {
    this.createdAtMs = Date.now();
    await this.domain.create(
      tinyDomainXml({ name: this.name, uuid: this.uuid, tenant: this.tenant }),
    );
    this.read();
    this.sampler = setInterval(() => this.read(), sampleEveryMs);
  }

  private read(): void {
    const bytes = this.domain.rssBytes();
    if (bytes !== null) this.readings.push({ atMs: Date.now(), bytes });
  }

  /**
   * Freezes the counter and ends the VM: pause (vCPUs stop, the domain stays active and the
   * collector keeps reading the frozen counter), read libvirt's cpu.time, then destroy it.
   */
  async pauseAndDestroy(settleMs: number): Promise<void> {
    await this.domain.suspend();
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    this.read();
    this.finalCpuNs = await this.domain.cpuTimeNs();
    this.destroyedAtMs = Date.now();
    this.stopSampling();
    await this.domain.destroy();
  }

  stopSampling(): void {
    if (this.sampler !== undefined) clearInterval(this.sampler);
    this.sampler = undefined;
  }

  account(): DomainAccount {
    const memoryByteSeconds = byteSeconds(this.readings, this.createdAtMs, this.destroyedAtMs);
    const lifetimeSeconds = (this.destroyedAtMs - this.createdAtMs) / 1000;
    return {
      name: this.name,
      uuid: this.uuid,
      lifetimeSeconds,
      cpuTimeNs: this.finalCpuNs,
      memoryByteSeconds,
      meanRssBytes: lifetimeSeconds > 0 ? memoryByteSeconds / lifetimeSeconds : 0,
    };
  }

  /** Clean-up: the domain is gone afterwards, whatever state it was in. */
  async remove(): Promise<void> {
    this.stopSampling();
    await this.domain.destroyIfPresent();
  }
}
