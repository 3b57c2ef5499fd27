/**
 * Who is calling: the operator (admin key) or one tenant, by its own API key (`via: 'key'`) or
 * by a portal session cookie (`via: 'session'`; docs/adr/0012-tenant-portal.md). A session
 * opened from an admin's read-only link has no key (`keyId` null) and is `readOnly`.
 */
export type Principal =
  | { readonly kind: 'admin' }
  | {
      readonly kind: 'tenant';
      readonly tenantId: string;
      readonly keyId: string;
      readonly via: 'key';
      readonly readOnly: false;
    }
  | {
      readonly kind: 'tenant';
      readonly tenantId: string;
      readonly keyId: string | null;
      readonly via: 'session';
      readonly readOnly: boolean;
    };

/**
 * Which callers a route admits: `tenant` = the admin or the tenant named by `:id`; `any` = the
 * admin or any tenant, the handler scoping what it answers by the principal; `session` = a
 * portal session cookie only (GET/DELETE /v1/portal/session); `public` = anyone.
 */
export type Access = 'public' | 'admin' | 'tenant' | 'any' | 'session';

export const ACCESS_KEY = 'billing:access';

export interface AuthenticatedRequest {
  principal?: Principal;
}

/** What a principal is called where it owns something (Idempotency-Key rows). */
export function principalName(principal: Principal): string {
  return principal.kind === 'admin' ? 'admin' : `tenant:${principal.tenantId}`;
}
