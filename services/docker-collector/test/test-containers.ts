import { readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { localInfra, uniqueName } from '@metering/testing';
import { parseMountInfo } from '../src/cgroups';

/** Label put on every container a test run creates, so `removeAll` finds them all. */
export const TEST_RUN_LABEL = 'metering.test-run';

/**
 * Busybox containers on the real engine, network none, all labelled with this run's id, and
 * removed (with the parent cgroups they created) by removeAll().
 */
export class TestContainers {
  readonly docker = new Docker({ socketPath: localInfra.dockerSocket, timeout: 30_000 });
  readonly runId = uniqueName('run');
  private readonly parents = new Set<string>();

  async run(options: {
    prefix: string;
    cmd: string[];
    labels?: Record<string, string>;
    nanoCpus?: number;
    memory?: number;
    cgroupParent?: string;
  }): Promise<Docker.Container> {
    if (options.cgroupParent !== undefined) this.parents.add(options.cgroupParent);
    const container = await this.docker.createContainer({
      name: uniqueName(options.prefix),
      Image: localInfra.busyboxImage,
      Cmd: options.cmd,
      Labels: { ...options.labels, [TEST_RUN_LABEL]: this.runId },
      HostConfig: {
        NetworkMode: 'none',
        ...(options.nanoCpus === undefined ? {} : { NanoCpus: options.nanoCpus }),
        ...(options.memory === undefined ? {} : { Memory: options.memory }),
        ...(options.cgroupParent === undefined ? {} : { CgroupParent: options.cgroupParent }),
      },
    });
    await container.start();
    return container;
  }

  async removeAll(): Promise<void> {
    const listed = await this.docker.listContainers({
      all: true,
      filters: { label: [`${TEST_RUN_LABEL}=${this.runId}`] },
    });
    await Promise.all(
      listed.map((c) =>
        this.docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
    // cgroupfs leaves the parent directories behind; empty ones can go.
    const mounts = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
    for (const parent of this.parents) {
      for (const mount of new Set(mounts.v1.values())) {
        try {
          rmdirSync(join(mount, parent));
        } catch {
          // not there, or not empty (another container) — leave it
        }
      }
    }
  }
}
