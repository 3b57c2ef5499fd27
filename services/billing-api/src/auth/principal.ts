/** Who is calling: the operator (admin key) or one tenant (its own API key). */
export type Principal =
  | { readonly kind: 'admin' }
  | { readonly kind: 'tenant'; readonly tenantId: string; readonly keyId: string };

/**
 * Which callers a route admits. `principal`: any valid key; the handler scopes what it shows to
 * the caller (routes without a tenant `:id`, such as /v1/webhook-endpoints).
 */
export type Access = 'public' | 'admin' | 'tenant' | 'principal';

export const ACCESS_KEY = 'billing:access';

export interface AuthenticatedRequest {
  principal?: Principal;
}
