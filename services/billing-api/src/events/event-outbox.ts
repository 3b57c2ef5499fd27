import { type EntityManager } from 'typeorm';
import { z } from 'zod';
import { execute, rows } from '../common/sql-rows';
import {
  encodeInvoiceEvent,
  type InvoiceEvent,
  invoiceEventKey,
  TOPICS,
} from '@metering/contracts';

/**
 * Puts an event in the transactional outbox, in the caller's transaction (`manager`): the event
 * exists if and only if the change it reports commits. Validates it against the contract first
 * (ContractViolationError: a programming error, the transaction rolls back).
 *
 * The same event id twice is a no-op (the id is stable per fact), so a retried or concurrent
 * writer of the same fact adds nothing. A new event also gets one webhook delivery per enabled
 * endpoint that wants its type and may see its tenant (provider endpoints see every tenant).
 *
 * Returns whether the event was new. The relay (EventRelayService) publishes it to Kafka.
 * Other modules (credit notes, budget alerts) call this with their own transaction.
 */
const EventIdRow = z.object({ event_id: z.string() });

export async function enqueue(manager: EntityManager, event: InvoiceEvent): Promise<boolean> {
  const payload = encodeInvoiceEvent(event).toString('utf8');
  const inserted = await rows(
    manager,
    EventIdRow,
    `INSERT INTO event_outbox (event_id, event_type, tenant_id, topic, key, payload, occurred_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (event_id) DO NOTHING
     RETURNING event_id`,
    [
      event.eventId,
      event.type,
      event.tenantId,
      TOPICS.invoices,
      invoiceEventKey(event),
      payload,
      event.occurredAt,
    ],
  );
  if (inserted.length === 0) return false;
  await execute(
    manager,
    `INSERT INTO webhook_delivery (endpoint_id, event_id)
     SELECT id, $1 FROM webhook_endpoint
     WHERE status = 'enabled' AND $2 = ANY (event_types)
       AND (tenant_id IS NULL OR tenant_id = $3)
     ON CONFLICT DO NOTHING`,
    [event.eventId, event.type, event.tenantId],
  );
  return true;
}

/** Several events in one transaction, in order. Returns how many were new. */
export async function enqueueAll(
  manager: EntityManager,
  events: readonly InvoiceEvent[],
): Promise<number> {
  let added = 0;
  for (const event of events) if (await enqueue(manager, event)) added += 1;
  return added;
}
