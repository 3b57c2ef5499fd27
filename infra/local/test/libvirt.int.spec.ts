import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { localInfra, uniqueName } from '@metering/testing';
import { tinyDomainXml } from './tiny-domain';
import type * as LibvirtModule from '@unraid/libvirt' with { 'resolution-mode': 'import' };

// @unraid/libvirt is ESM-only; this package compiles to CommonJS, so it is loaded with a
// dynamic import(), which TypeScript keeps as is for module Node16.
type Libvirt = typeof LibvirtModule;
type Hypervisor = InstanceType<Libvirt['Hypervisor']>;
type Domain = Awaited<ReturnType<Hypervisor['domainCreateXML']>>;

const name = uniqueName('infra_smoke');
const uuid = randomUUID();
const tenant = uniqueName('tenant');
let libvirt: Libvirt;
let hypervisor: Hypervisor;
let connected = false;
let domain: Domain | undefined;

before(async () => {
  libvirt = await import('@unraid/libvirt');
  hypervisor = new libvirt.Hypervisor({ uri: localInfra.libvirtUri });
  await hypervisor.connectOpen();
  connected = true;
  // Transient: gone from libvirt as soon as it is destroyed, nothing to undefine.
  domain = await hypervisor.domainCreateXML(tinyDomainXml({ name, uuid, tenant }));
});

after(async () => {
  if (!connected) return;
  // Always, even when `before` failed half-way: look the domain up by name, not by handle.
  try {
    const leftover = domain ?? (await hypervisor.domainLookupByName(name));
    await hypervisor.domainDestroy(leftover);
  } catch {
    // Not created, or already gone.
  }
  await hypervisor.connectClose();
});

test('the transient tiny domain is listed and running, with our uuid', async () => {
  const all = await hypervisor.connectListAllDomains();
  const names = await Promise.all(all.map((d) => hypervisor.domainGetName(d)));
  const ours = all[names.indexOf(name)];
  assert.ok(ours, `domain ${name} not in ${names.join(', ')}`);
  assert.equal(await hypervisor.domainGetUUIDString(ours), uuid);
  const info = await hypervisor.domainGetInfo(ours);
  assert.equal(info.state, libvirt.DomainState.RUNNING);
  assert.equal(info.nrVirtCpu, 1);
  assert.equal(info.maxMem, 128 * 1024); // KiB
});

test('its cumulative CPU time rises while it sits in the BIOS', async () => {
  assert.ok(domain);
  const before = await hypervisor.domainGetInfo(domain);
  await sleep(1500);
  const later = await hypervisor.domainGetInfo(domain);
  assert.ok(
    later.cpuTime > before.cpuTime,
    `cpuTime did not rise: ${before.cpuTime} ns then ${later.cpuTime} ns`,
  );
});

test('its XML carries the tenant metadata and no network interface', async () => {
  assert.ok(domain);
  const xml = await hypervisor.domainGetXMLDesc(domain);
  assert.match(
    xml,
    new RegExp(`<metering:tenant xmlns:metering="urn:metering:1">${tenant}</metering:tenant>`),
  );
  assert.doesNotMatch(xml, /<interface\b/);
  assert.doesNotMatch(xml, /<disk\b/);
});
