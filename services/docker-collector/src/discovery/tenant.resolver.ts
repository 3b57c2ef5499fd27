/**
 * A container's tenant: the value of its tenant label (key configurable, `metering.tenant`
 * by default). Unlabelled containers are metered under the default tenant, never dropped
 * (product.md, "Tenants of resources").
 */
export class TenantResolver {
  constructor(
    private readonly labelKey: string,
    private readonly defaultTenant: string,
  ) {}

  tenantOf(labels: Readonly<Record<string, string>>): string {
    const value = labels[this.labelKey]?.trim();
    return value === undefined || value === '' ? this.defaultTenant : value;
  }
}
