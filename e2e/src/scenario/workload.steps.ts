import { setTimeout as sleep } from 'node:timers/promises';
import { type ServicePipeline } from '@metering/pipeline-harness';
import { type TenantContainers } from '../workloads/tenant-containers';
import { type TenantDomain } from '../workloads/tenant-domain';
import { describeDraft, readInvoice } from './billing.observer';
import { dockerCycles } from './settle.observer';
import { type ScenarioOptions, type ScenarioTenants } from './scenario.types';

// The workloads' life: started, run (a short-lived container joins; live drafts read), frozen.

export interface WorkloadParts {
  readonly pipeline: ServicePipeline;
  readonly tenants: ScenarioTenants;
  readonly containers: TenantContainers;
  readonly domain: TenantDomain;
  readonly options: ScenarioOptions;
}

/** Tenant A's burners and memory holder, tenant B's domain; the kernel read every 250 ms. */
export async function startWorkloads(w: WorkloadParts): Promise<void> {
  const o = w.options;
  o.onProgress(
    `tenant A: 2 CPU burners (--cpus 0.3, 0.2) and a ${o.heldMib} MiB memory holder under /metering/${w.tenants.a.id}`,
  );
  const burn = ['sh', '-c', 'exec yes > /dev/null'];
  await w.containers.start({ role: 'burner-1', cpus: 0.3, command: burn });
  await w.containers.start({ role: 'burner-2', cpus: 0.2, command: burn });
  await w.containers.start({
    role: 'memory-holder',
    cpus: 0.1,
    memoryLimit: `${o.heldMib * 2}m`,
    shmSize: `${o.heldMib + 16}m`,
    command: [
      'sh',
      '-c',
      `dd if=/dev/zero of=/dev/shm/held bs=1M count=${o.heldMib} 2>/dev/null; exec sleep 3600`,
    ],
  });
  w.containers.startSampling(250);
  o.onProgress(`tenant B: KVM domain ${w.domain.name} (1 vCPU capped at 25 %, 128 MiB, no NIC)`);
  await w.domain.start(250);
}

/**
 * Lets the workloads run `runSeconds` from `runStart`: the short-lived container starts after
 * `shortLivedAfterSeconds` (and has exited when this returns); every `draftEverySeconds` both
 * live drafts are read. Returns the live drafts' statuses.
 */
export async function runWorkloads(w: WorkloadParts, runStart: number): Promise<string[]> {
  const o = w.options;
  const liveDraftStatuses: string[] = [];
  let shortLived: Promise<void> | undefined;
  let nextDraft = runStart + o.draftEverySeconds * 1000;
  while (Date.now() - runStart < o.runSeconds * 1000) {
    const elapsed = (Date.now() - runStart) / 1000;
    if (shortLived === undefined && elapsed >= o.shortLivedAfterSeconds) {
      o.onProgress(
        `tenant A: a short-lived container, ${o.shortLivedSeconds} s of CPU (--cpus 0.5)`,
      );
      const record = await w.containers.start({
        role: 'short-lived',
        cpus: 0.5,
        command: ['sh', '-c', `timeout ${o.shortLivedSeconds} yes > /dev/null; true`],
      });
      const exited = w.containers.waitExited(record);
      exited.catch(() => undefined); // awaited after the run; no unhandled rejection meanwhile
      shortLived = exited;
    }
    if (o.draftEverySeconds > 0 && Date.now() >= nextDraft) {
      nextDraft += o.draftEverySeconds * 1000;
      for (const t of [w.tenants.a, w.tenants.b]) {
        const draft = await readInvoice(w.pipeline, t);
        liveDraftStatuses.push(draft.status);
        o.onProgress(
          `  ${Math.round(elapsed)} s: live ${draft.status} of ${t.key.toUpperCase()}: ${describeDraft(draft)}`,
        );
      }
    }
    await sleep(250);
  }
  await shortLived;
  return liveDraftStatuses;
}

export interface Frozen {
  /** Docker-collector cycles counted once every container had died (their cgroups gone). */
  readonly cyclesAtDeath: number;
  /** Tenant A's parent cgroup CPU counter after the freeze. */
  readonly kernelCpuANs: bigint;
}

/** Containers killed, the domain paused (its `cpu.time` read) and destroyed. */
export async function freezeWorkloads(w: WorkloadParts): Promise<Frozen> {
  w.options.onProgress('freezing: tenant A containers killed, the domain paused and destroyed');
  await w.containers.killAll();
  // Counted from here, after every container died (their cgroups are gone by now).
  const cyclesAtDeath = await dockerCycles(w.pipeline);
  const kernelCpuANs = w.containers.parentCpuNs();
  await w.domain.pauseAndDestroy(1_000);
  return { cyclesAtDeath, kernelCpuANs };
}
