/** The delivery log's states and page sizes (the HTTP API's and the CLI's). Pure. */
export const DELIVERY_STATUSES: readonly string[] = ['pending', 'delivered', 'failed'];
export const DELIVERY_PAGE_DEFAULT = 100;
export const DELIVERY_PAGE_MAX = 1000;
