/** Injection tokens shared by the feature modules. */
export const BILLING_CONFIG = Symbol('BILLING_CONFIG');
