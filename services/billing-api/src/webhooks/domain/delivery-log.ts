/** The delivery log's and the endpoints' states (the HTTP API's and the CLI's). Pure. */
export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export const ENDPOINT_STATUSES = ['enabled', 'disabled'] as const;
