import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { localInfra, uniqueName, waitFor } from '@metering/testing';

// The engine started by infra/local/docker.sh (no bridge) and its registry-less image.
const docker = new Docker({ socketPath: localInfra.dockerSocket, timeout: 30_000 });
const tenant = uniqueName('tenant');
const name = uniqueName('infra_smoke');
const tenantLabel = 'metering.tenant';
const memoryLimit = 64 * 1024 * 1024;
let container: Docker.Container | undefined;

before(async () => {
  container = await docker.createContainer({
    name,
    Image: localInfra.busyboxImage,
    // Ends by itself even if `after` never runs.
    Cmd: ['sleep', '60'],
    Labels: { [tenantLabel]: tenant },
    HostConfig: { NetworkMode: 'none', Memory: memoryLimit },
  });
  await container.start();
});

after(async () => {
  await container?.remove({ force: true });
});

test('a busybox container with a tenant label is listed running by a label filter', async () => {
  const listed = await waitFor(
    async () => {
      const found = await docker.listContainers({
        filters: { label: [`${tenantLabel}=${tenant}`] },
      });
      return found.length > 0 ? found : undefined;
    },
    { timeoutMs: 10_000, description: `a container labelled ${tenantLabel}=${tenant}` },
  );
  assert.equal(listed.length, 1);
  const [summary] = listed;
  assert.equal(summary?.Id, container?.id);
  assert.equal(summary?.State, 'running');
  assert.equal(summary?.Labels[tenantLabel], tenant);
  assert.deepEqual(summary?.Names, [`/${name}`]);
});

test('the container runs with no network and the memory limit', async () => {
  assert.ok(container);
  const info = await container.inspect();
  assert.equal(info.State.Running, true);
  assert.equal(info.HostConfig.NetworkMode, 'none');
  assert.equal(info.HostConfig.Memory, memoryLimit);
  assert.deepEqual(Object.keys(info.NetworkSettings.Networks), ['none']);
  assert.equal(info.NetworkSettings.Networks.none?.IPAddress, '');
});
