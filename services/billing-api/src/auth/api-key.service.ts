import { Inject, Injectable } from '@nestjs/common';
import { type BillingConfig } from '../config';
import { NotFoundError } from '../common/billing.errors';
import { Clock } from '../common/clock';
import { BILLING_CONFIG } from '../common/tokens';
import { TenantRepository } from '../tenants/tenant.repository';
import { issueKey, parseKey, sameSecret, sha256 } from './api-key-format';
import { ApiKeyRepository } from './api-key.repository';
import { type Principal } from './principal';

/** lastUsedAt is recorded to this resolution. */
export const LAST_USED_RESOLUTION_MS = 60_000;

@Injectable()
export class ApiKeyService {
  private readonly adminSha256: Buffer;
  /** When this process last wrote each key's last_used_at (bounded: cleared when it grows). */
  private readonly lastWritten = new Map<string, number>();

  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly tenants: TenantRepository,
    private readonly clock: Clock,
    @Inject(BILLING_CONFIG) config: BillingConfig,
  ) {
    this.adminSha256 = sha256(config.adminApiKey);
  }

  /** The key is returned once; only the hash of its secret is kept. */
  async issue(
    tenantId: string,
  ): Promise<{ id: string; key: string; tenantId: string; createdAt: string }> {
    if ((await this.tenants.find(tenantId)) === null) {
      throw new NotFoundError('TENANT_NOT_FOUND', `tenant ${tenantId} does not exist`);
    }
    const issued = issueKey();
    const createdAt = await this.keys.insert(issued.id, tenantId, issued.secretSha256);
    return { id: issued.id, key: issued.key, tenantId, createdAt: createdAt.toISOString() };
  }

  async revoke(tenantId: string, keyId: string): Promise<void> {
    if (!(await this.keys.revoke(tenantId, keyId))) {
      throw new NotFoundError('API_KEY_NOT_FOUND', `tenant ${tenantId} has no active key ${keyId}`);
    }
  }

  /**
   * last_used_at, cheaply: at most one write a minute per key from this process (the map), and
   * across replicas the UPDATE's own condition. So it is exact to the minute. A portal session
   * opened with the key records its use too (PortalSessionService).
   */
  async recordUse(keyId: string): Promise<void> {
    const now = this.clock.now();
    const last = this.lastWritten.get(keyId);
    if (last !== undefined && now - last < LAST_USED_RESOLUTION_MS) return;
    if (this.lastWritten.size >= 10_000) this.lastWritten.clear();
    this.lastWritten.set(keyId, now);
    await this.keys.touch(keyId, new Date(now), LAST_USED_RESOLUTION_MS);
  }

  /** Who a bearer token belongs to, or null. Both comparisons are constant-time on hashes. */
  async authenticate(token: string): Promise<Principal | null> {
    if (sameSecret(token, this.adminSha256)) return { kind: 'admin' };
    const parsed = parseKey(token);
    if (parsed === null) return null;
    const stored = await this.keys.findActive(parsed.id);
    if (stored === null || !sameSecret(parsed.secret, stored.secretSha256)) return null;
    await this.recordUse(stored.id);
    return {
      kind: 'tenant',
      tenantId: stored.tenantId,
      keyId: stored.id,
      via: 'key',
      readOnly: false,
    };
  }
}
