import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LibvirtDiscovery } from '../src/discovery';

// A libvirt URI that cannot be opened, then can: the test driver with a custom node file
// (test:///<absolute path>) that does not exist at first. Real binding, real libvirt client
// library; a fake clock drives the reconnect backoff.
let dir: string;
let nodeFile: string;
let clock = 1_000_000;
let discovery: LibvirtDiscovery;
const uuid = randomUUID();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vm-collector-reconnect-'));
  nodeFile = join(dir, 'node.xml');
  discovery = new LibvirtDiscovery(
    {
      uris: [`test://${nodeFile}`],
      hostName: 'test-host',
      metadataRefreshMs: 60_000,
      qemuRunDir: '/nonexistent',
      procDir: '/proc',
      callTimeoutMs: 5_000,
      concurrency: 2,
    },
    () => clock,
  );
});

after(async () => {
  await discovery?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

test('a connection that fails is retried after a growing backoff, then read', async () => {
  const [first] = await discovery.observe();
  assert.equal(first?.ok, false);
  assert.equal(discovery.connections()[0]?.connected, false);
  const firstError = discovery.connections()[0]?.lastError;
  assert.ok(firstError);

  // Within the 1 s backoff: no new attempt, the same error, and the wait does not grow.
  clock += 500;
  const [waiting] = await discovery.observe();
  assert.ok(waiting && !waiting.ok);
  assert.match(waiting.error, /reconnecting in 1 s/);
  assert.equal(discovery.connections()[0]?.lastError, firstError);

  // After it: attempted again, fails again, now 2 s.
  clock += 600;
  await discovery.observe();
  clock += 1_000;
  const [longer] = await discovery.observe();
  assert.ok(longer && !longer.ok);
  assert.match(longer.error, /reconnecting in 1 s/); // 2 s backoff, 1 s of it passed

  await writeFile(
    nodeFile,
    `<node><domain type='test'><name>back</name><uuid>${uuid}</uuid>
      <metadata><m:tenant xmlns:m="urn:metering:1">acme</m:tenant></metadata>
      <memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain></node>`,
  );
  clock += 1_000;
  const [back] = await discovery.observe();
  assert.ok(back?.ok, back?.ok === false ? back.error : '');
  assert.deepEqual(
    back.domains.map((d) => [d.name, d.uuid, d.tenantId]),
    [['back', uuid, 'acme']],
  );
  const status = discovery.connections()[0];
  assert.equal(status?.connected, true);
  assert.equal(status?.lastError, null);
  assert.equal(status?.lastOkAt?.getTime(), clock);
});
