import { z } from 'zod';

/**
 * The rows of webhook_endpoint and webhook_delivery as the webhook stores select them (camelCase
 * aliases), each checked at the boundary (common/sql-rows.ts).
 */

export const EndpointDbRow = z.object({
  id: z.string(),
  tenantId: z.string().nullable(),
  url: z.string(),
  eventTypes: z.array(z.string()),
  description: z.string(),
  status: z.enum(['enabled', 'disabled']),
  disabledReason: z.string().nullable(),
  previousSecretExpiresAt: z.date().nullable(),
  createdAt: z.date(),
});

export const EndpointPageRow = EndpointDbRow.extend({ position: z.string() });

export const DeliveryDbRow = z.object({
  /** bigint, selected as text */
  id: z.string(),
  endpointId: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  nextAttemptAt: z.date(),
  lastAttemptAt: z.date().nullable(),
  lastStatusCode: z.number().int().nullable(),
  lastLatencyMs: z.number().int().nullable(),
  lastResponse: z.string().nullable(),
  lastError: z.string().nullable(),
  deliveredAt: z.date().nullable(),
  createdAt: z.date(),
});

export const IntCountRow = z.object({ n: z.number().int() });
export const SecretRow = z.object({ s: z.instanceof(Buffer) });
export const AnyRow = z.unknown();
