/** Who is calling: the operator (admin key) or one tenant (its own API key). */
export type Principal =
  | { readonly kind: 'admin' }
  | { readonly kind: 'tenant'; readonly tenantId: string; readonly keyId: string };

/** Which callers a route admits. */
export type Access = 'public' | 'admin' | 'tenant';

export const ACCESS_KEY = 'billing:access';

export interface AuthenticatedRequest {
  principal?: Principal;
}
