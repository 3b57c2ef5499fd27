import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A KVM domain driven with `virsh`, and libvirt's and the kernel's own account of it, read by the
 * test itself (not through the collector): CPU from `virsh domstats --cpu-total` (`cpu.time`,
 * ns), memory as the resident set of its QEMU process (`VmRSS + HugetlbPages`, libvirt's own
 * `rss` figure — what the collector bills by default).
 */
export class LibvirtDomain {
  private pid: number | null = null;

  constructor(
    readonly uri: string,
    readonly name: string,
  ) {}

  private async virsh(...args: string[]): Promise<string> {
    const { stdout } = await run('virsh', ['-c', this.uri, ...args], { timeout: 60_000 });
    return stdout;
  }

  /** Creates (boots) a transient domain from its XML; it disappears once destroyed. */
  async create(xml: string): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'e2e-domain-'));
    try {
      const file = join(dir, 'domain.xml');
      writeFileSync(file, xml);
      await this.virsh('create', file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** libvirt's cumulative CPU time of the domain (all of its QEMU process), ns. */
  async cpuTimeNs(): Promise<bigint> {
    const out = await this.virsh('domstats', '--cpu-total', this.name);
    const value = /^\s*cpu\.time=(\d+)$/m.exec(out)?.[1];
    if (value === undefined) throw new Error(`no cpu.time for ${this.name}: ${out}`);
    return BigInt(value);
  }

  /** Resident memory of the domain's QEMU process, bytes; null once it is gone. */
  rssBytes(runDir = '/run/libvirt/qemu'): number | null {
    try {
      this.pid ??= Number(readFileSync(join(runDir, `${this.name}.pid`), 'utf8').trim());
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const kb = (key: string) =>
        Number(new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? 0);
      return (kb('VmRSS') + kb('HugetlbPages')) * 1024;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  /** Pauses the vCPUs: the domain stays active, its CPU counter stands still. */
  async suspend(): Promise<void> {
    await this.virsh('suspend', this.name);
  }

  async destroy(): Promise<void> {
    await this.virsh('destroy', this.name);
  }

  /** Destroys the domain if it still exists (clean-up; never throws for a missing domain). */
  async destroyIfPresent(): Promise<void> {
    try {
      await this.virsh('domstate', this.name);
    } catch {
      return;
    }
    await this.destroy();
  }
}
