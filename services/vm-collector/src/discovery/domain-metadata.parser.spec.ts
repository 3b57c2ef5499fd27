import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainXmlError, parseDomainFacts, parseDomainMetadata } from './domain-metadata.parser';
import { meteringDomainXml, novaDomainXml, plainDomainXml } from './domain-xml.fixtures';

test('our metering:tenant element names the tenant (entities decoded, whitespace trimmed)', () => {
  assert.deepEqual(parseDomainMetadata(meteringDomainXml), {
    tenantId: 'acme & sons',
    tenantSource: 'metering',
  });
});

test('an OpenStack Nova instance is billed to its project', () => {
  assert.deepEqual(parseDomainMetadata(novaDomainXml), {
    tenantId: '5f5e7d3b9b3a4c2d8e1f0a9b8c7d6e5f',
    tenantSource: 'nova',
  });
});

test('every Nova metadata version is accepted', () => {
  for (const version of ['1.0', '1.2']) {
    const xml = novaDomainXml.replace('nova/1.1', `nova/${version}`);
    assert.equal(parseDomainMetadata(xml).tenantId, '5f5e7d3b9b3a4c2d8e1f0a9b8c7d6e5f');
  }
});

test('a domain without tenant metadata has none (the default tenant applies)', () => {
  assert.deepEqual(parseDomainMetadata(plainDomainXml), { tenantId: null, tenantSource: null });
  const empty = meteringDomainXml.replace('acme &amp; sons', '  ');
  assert.equal(parseDomainMetadata(empty).tenantId, null);
});

test('ours wins over Nova when a domain carries both', () => {
  const both = novaDomainXml.replace(
    '<metadata>',
    '<metadata>\n    <m:tenant xmlns:m="urn:metering:1">globex</m:tenant>',
  );
  assert.deepEqual(parseDomainMetadata(both), { tenantId: 'globex', tenantSource: 'metering' });
});

test('namespaces decide, not prefixes', () => {
  const cases: [string, string | null][] = [
    // Any prefix, or a default namespace, for our namespace.
    ['<x:tenant xmlns:x="urn:metering:1">a</x:tenant>', 'a'],
    ['<tenant xmlns="urn:metering:1">b</tenant>', 'b'],
    // Our prefix bound to another namespace is not ours.
    ['<metering:tenant xmlns:metering="urn:other:1">c</metering:tenant>', null],
    // Nova's element names in a foreign namespace are not Nova's.
    [
      '<nova:instance xmlns:nova="urn:not-nova"><nova:owner><nova:project uuid="p"/></nova:owner></nova:instance>',
      null,
    ],
    // Nova with another prefix.
    [
      '<os:instance xmlns:os="http://openstack.org/xmlns/libvirt/nova/1.1"><os:owner><os:project uuid="p9">x</os:project></os:owner></os:instance>',
      'p9',
    ],
    // A tenant element outside <metadata> does not count.
    ['', null],
  ];
  for (const [metadata, expected] of cases) {
    const xml = `<domain type='kvm'><name>n</name><metadata>${metadata}</metadata>${
      metadata === '' ? '<m:tenant xmlns:m="urn:metering:1">outside</m:tenant>' : ''
    }</domain>`;
    assert.equal(parseDomainMetadata(xml).tenantId, expected, metadata);
  }
});

test('malformed XML is a DomainXmlError, not a crash', () => {
  assert.throws(() => parseDomainMetadata('<domain><metadata>'), DomainXmlError);
  assert.throws(() => parseDomainMetadata('<network/>'), DomainXmlError);
});

test('the flavour comes from Nova’s metadata; ours and plain domains have none', () => {
  assert.equal(parseDomainFacts(novaDomainXml).flavour, 'm1.small');
  assert.equal(parseDomainFacts(novaDomainXml).tenantId, '5f5e7d3b9b3a4c2d8e1f0a9b8c7d6e5f');
  assert.equal(parseDomainFacts(meteringDomainXml).flavour, null);
  assert.equal(parseDomainFacts(plainDomainXml).flavour, null);
  assert.equal(
    parseDomainFacts(novaDomainXml.replace('name="m1.small"', 'name="  "')).flavour,
    null,
  );
  assert.equal(
    parseDomainFacts(novaDomainXml.replace('name="m1.small"', 'name="Ωμέγα.株式会社"')).flavour,
    'Ωμέγα.株式会社',
  );
});
