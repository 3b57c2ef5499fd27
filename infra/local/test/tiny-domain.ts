import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The tiny KVM test domain of infra/local/vm/tiny-domain.xml.tmpl (also printed by
 * `infra/local/libvirt.sh domain-xml`): 128 MiB, one vCPU, no disk, no network interface,
 * tenant in `<metering:tenant xmlns:metering="urn:metering:1">`.
 */
export interface TinyDomain {
  name: string;
  uuid: string;
  tenant: string;
}

// Compiled to infra/local/dist/test/, so the template is two levels up.
const templatePath = resolve(__dirname, '..', '..', 'vm', 'tiny-domain.xml.tmpl');

const xmlEntities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => xmlEntities[c] ?? c);
}

export function tinyDomainXml(domain: TinyDomain): string {
  const values: Record<string, string> = {
    name: domain.name,
    uuid: domain.uuid,
    tenant: domain.tenant,
  };
  return readFileSync(templatePath, 'utf8')
    .replace(/<!--[\s\S]*?-->\s*/g, '')
    .replace(/\{\{(\w+)\}\}/g, (placeholder, key: string) => {
      const value = values[key];
      if (value === undefined)
        throw new Error(`${templatePath}: unknown placeholder ${placeholder}`);
      return escapeXml(value);
    });
}
