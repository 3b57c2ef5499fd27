// Domain XML as libvirt returns it (virsh dumpxml), for the metadata parser's specs.

/** Our tenant element, as infra/local/vm/tiny-domain.xml.tmpl writes it. */
export const meteringDomainXml = `<domain type='kvm' id='5'>
  <name>tiny</name>
  <uuid>11111111-2222-4333-8444-555555555555</uuid>
  <metadata>
    <metering:tenant xmlns:metering="urn:metering:1">acme &amp; sons</metering:tenant>
  </metadata>
  <memory unit='KiB'>131072</memory>
  <currentMemory unit='KiB'>131072</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>
  <devices><memballoon model='virtio'><stats period='5'/></memballoon></devices>
</domain>
`;

/** An instance booted by OpenStack Nova (nova-compute's libvirt driver, metadata 1.1). */
export const novaDomainXml = `<domain type='kvm' id='1'>
  <name>instance-0000002a</name>
  <uuid>c7a5fdbd-cdaf-4455-926a-d65c16db1809</uuid>
  <metadata>
    <nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1">
      <nova:package version="27.1.0"/>
      <nova:name>web-1</nova:name>
      <nova:creationTime>2026-11-20 10:20:30</nova:creationTime>
      <nova:flavor name="m1.small">
        <nova:memory>2048</nova:memory>
        <nova:disk>20</nova:disk>
        <nova:swap>0</nova:swap>
        <nova:ephemeral>0</nova:ephemeral>
        <nova:vcpus>1</nova:vcpus>
      </nova:flavor>
      <nova:owner>
        <nova:user uuid="85bd8e4e0e8f4f0f9b1b4e5d2b3c4d5e">admin</nova:user>
        <nova:project uuid="5f5e7d3b9b3a4c2d8e1f0a9b8c7d6e5f">demo</nova:project>
      </nova:owner>
      <nova:root type="image" uuid="0e3b1b2c-9d8e-4f7a-8b6c-5d4e3f2a1b0c"/>
      <nova:ports>
        <nova:port uuid="2d1c0b9a-8f7e-4d6c-5b4a-3f2e1d0c9b8a">
          <nova:ip type="fixed" address="10.0.0.5" ipVersion="4"/>
        </nova:port>
      </nova:ports>
    </nova:instance>
  </metadata>
  <memory unit='KiB'>2097152</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <sysinfo type='smbios'>
    <system>
      <entry name='manufacturer'>OpenStack Foundation</entry>
      <entry name='product'>OpenStack Nova</entry>
    </system>
  </sysinfo>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
</domain>
`;

/** No metadata at all (a hand-made VM). */
export const plainDomainXml = `<domain type='kvm'>
  <name>plain</name>
  <uuid>22222222-3333-4444-8555-666666666666</uuid>
  <memory unit='KiB'>524288</memory>
  <vcpu>2</vcpu>
  <os><type>hvm</type></os>
</domain>
`;
