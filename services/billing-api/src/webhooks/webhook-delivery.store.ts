import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { execute, rows } from '../common/sql-rows';
import { enqueue } from '../events/event-outbox';
import { webhookEndpointDisabled } from '../events/invoice-event.factory';

/** A due delivery, leased to this instance, with what sending it needs. */
export interface ClaimedDelivery {
  readonly id: string;
  readonly attempts: number;
  readonly windowStartedMs: number;
  readonly nowMs: number;
  readonly eventId: string;
  readonly eventType: string;
  readonly payload: string;
  readonly endpointId: string;
  readonly tenantId: string | null;
  readonly url: string;
  readonly secret: Buffer;
  /** null when there is none or its overlap is over. */
  readonly previousSecret: Buffer | null;
}

export interface AttemptOutcome {
  readonly statusCode: number | null;
  readonly latencyMs: number;
  readonly response: string | null;
  readonly error: string | null;
}

/** The rows this store reads, checked at the boundary (common/sql-rows.ts). */
const ClaimedRow = z.object({
  /** bigint, selected as text */
  id: z.string(),
  attempts: z.number().int(),
  window_ms: z.string(),
  now_ms: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  payload: z.string(),
  endpoint_id: z.string(),
  tenant_id: z.string().nullable(),
  url: z.string(),
  secret: z.instanceof(Buffer),
  previous: z.instanceof(Buffer).nullable(),
});
const StreakRow = z.object({
  streak: z.number().int(),
  since_ms: z.string(),
  now_ms: z.string(),
  status: z.string(),
});

/** The delivery worker's port to the ledger. */
@Injectable()
export class WebhookDeliveryStore {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Leases up to `limit` due deliveries of enabled endpoints for `leaseMs` (longer than a
   * request may take): other instances skip them (SKIP LOCKED while claiming, the lease after),
   * so a delivery is sent by one instance at a time. A crashed instance's lease runs out and
   * another takes the delivery over.
   */
  async claim(limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const claimed = await rows(
      this.dataSource,
      ClaimedRow,
      `WITH due AS (
         SELECT d.id FROM webhook_delivery d JOIN webhook_endpoint e ON e.id = d.endpoint_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND e.status = 'enabled'
           AND (d.locked_until IS NULL OR d.locked_until < now())
         ORDER BY d.next_attempt_at LIMIT $1 FOR UPDATE OF d SKIP LOCKED)
       UPDATE webhook_delivery d SET locked_until = now() + make_interval(secs => $2::float8 / 1000)
       FROM due, webhook_endpoint e, event_outbox o
       WHERE d.id = due.id AND e.id = d.endpoint_id AND o.event_id = d.event_id
       RETURNING d.id::text, d.attempts, (extract(epoch FROM d.window_started_at) * 1000)::bigint::text AS window_ms,
         (extract(epoch FROM now()) * 1000)::bigint::text AS now_ms, d.event_id, o.event_type, o.payload,
         e.id AS endpoint_id, e.tenant_id, e.url, e.secret_ciphertext AS secret,
         CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret_ciphertext END AS previous`,
      [limit, leaseMs],
    );
    return claimed.map((r) => ({
      id: r.id,
      attempts: r.attempts,
      windowStartedMs: Number(r.window_ms),
      nowMs: Number(r.now_ms),
      eventId: r.event_id,
      eventType: r.event_type,
      payload: r.payload,
      endpointId: r.endpoint_id,
      tenantId: r.tenant_id,
      url: r.url,
      secret: r.secret,
      previousSecret: r.previous,
    }));
  }

  async delivered(id: string, endpointId: string, outcome: AttemptOutcome): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      await execute(
        tx,
        `UPDATE webhook_delivery SET status = 'delivered', attempts = attempts + 1, delivered_at = now(),
           last_attempt_at = now(), last_status_code = $2, last_latency_ms = $3, last_response = $4,
           last_error = NULL, locked_until = NULL
         WHERE id = $1`,
        [id, outcome.statusCode, outcome.latencyMs, outcome.response],
      );
      await execute(
        tx,
        `UPDATE webhook_endpoint SET consecutive_failures = 0, failing_since = NULL WHERE id = $1`,
        [endpointId],
      );
    });
  }

  /**
   * A failed attempt: retried after `retryInMs`, or failed for good (null). The endpoint's failure
   * streak grows; when `disable(streak, failingSinceMs, nowMs)` says so it is disabled, its pending
   * deliveries failed, and `webhook_endpoint.disabled` written to the outbox, all in one
   * transaction. Returns whether the endpoint was disabled.
   */
  async failed(
    delivery: ClaimedDelivery,
    outcome: AttemptOutcome,
    retryInMs: number | null,
    disable: (streak: number, failingSinceMs: number, nowMs: number) => boolean,
  ): Promise<boolean> {
    return this.dataSource.transaction(async (tx) => {
      await execute(
        tx,
        `UPDATE webhook_delivery SET attempts = attempts + 1, last_attempt_at = now(),
           last_status_code = $2, last_latency_ms = $3, last_response = $4, last_error = $5,
           locked_until = NULL,
           status = CASE WHEN $6::float8 IS NULL THEN 'failed' ELSE 'pending' END,
           next_attempt_at = CASE WHEN $6::float8 IS NULL THEN next_attempt_at
                                  ELSE now() + make_interval(secs => $6::float8 / 1000) END
         WHERE id = $1`,
        [
          delivery.id,
          outcome.statusCode,
          outcome.latencyMs,
          outcome.response,
          outcome.error,
          retryInMs,
        ],
      );
      const streaks = await rows(
        tx,
        StreakRow,
        `UPDATE webhook_endpoint SET consecutive_failures = consecutive_failures + 1,
           failing_since = coalesce(failing_since, now())
         WHERE id = $1
         RETURNING consecutive_failures AS streak, status,
           (extract(epoch FROM failing_since) * 1000)::bigint::text AS since_ms,
           (extract(epoch FROM now()) * 1000)::bigint::text AS now_ms`,
        [delivery.endpointId],
      );
      const endpoint = streaks[0];
      if (endpoint === undefined || endpoint.status !== 'enabled') return false;
      const sinceMs = Number(endpoint.since_ms);
      const nowMs = Number(endpoint.now_ms);
      if (!disable(endpoint.streak, sinceMs, nowMs)) return false;
      const reason =
        `${endpoint.streak} failed attempts in a row since ${new Date(sinceMs).toISOString()}; last: ${outcome.error ?? `HTTP ${outcome.statusCode}`}`.slice(
          0,
          1000,
        );
      await execute(
        tx,
        `UPDATE webhook_endpoint SET status = 'disabled', disabled_reason = $2 WHERE id = $1`,
        [delivery.endpointId, reason],
      );
      await execute(
        tx,
        `UPDATE webhook_delivery SET status = 'failed', locked_until = NULL,
           last_error = coalesce(last_error, 'endpoint disabled')
         WHERE endpoint_id = $1 AND status = 'pending'`,
        [delivery.endpointId],
      );
      await enqueue(
        tx,
        webhookEndpointDisabled(
          {
            id: delivery.endpointId,
            tenantId: delivery.tenantId,
            url: delivery.url,
            reason,
            failingSinceMs: sinceMs,
          },
          nowMs,
        ),
      );
      return true;
    });
  }
}
