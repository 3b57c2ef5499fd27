/** Who is calling: the operator (admin key) or one tenant (its own API key). */
export type Principal =
  | { readonly kind: 'admin' }
  | { readonly kind: 'tenant'; readonly tenantId: string; readonly keyId: string };

/**
 * Which callers a route admits: `tenant` = the admin or the tenant named by `:id`; `any` = the
 * admin or any tenant, the handler scoping what it answers by the principal.
 */
export type Access = 'public' | 'admin' | 'tenant' | 'any';

export const ACCESS_KEY = 'billing:access';

export interface AuthenticatedRequest {
  principal?: Principal;
}

/** What a principal is called where it owns something (Idempotency-Key rows). */
export function principalName(principal: Principal): string {
  return principal.kind === 'admin' ? 'admin' : `tenant:${principal.tenantId}`;
}
