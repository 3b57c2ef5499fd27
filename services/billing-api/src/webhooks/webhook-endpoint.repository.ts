import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { execute, firstRow, rows } from '../common/sql-rows';
import {
  AnyRow,
  DeliveryDbRow,
  EndpointDbRow,
  EndpointPageRow,
  IntCountRow,
  SecretRow,
} from './webhook.rows';

export interface EndpointRow {
  readonly id: string;
  readonly tenantId: string | null;
  readonly url: string;
  readonly eventTypes: string[];
  readonly description: string;
  readonly status: 'enabled' | 'disabled';
  readonly disabledReason: string | null;
  readonly previousSecretExpiresAt: Date | null;
  readonly createdAt: Date;
}

export interface DeliveryRow {
  readonly id: string;
  readonly endpointId: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly status: 'pending' | 'delivered' | 'failed';
  readonly attempts: number;
  readonly nextAttemptAt: Date;
  readonly lastAttemptAt: Date | null;
  readonly lastStatusCode: number | null;
  readonly lastLatencyMs: number | null;
  readonly lastResponse: string | null;
  readonly lastError: string | null;
  readonly deliveredAt: Date | null;
  readonly createdAt: Date;
}

const ENDPOINT_COLUMNS = `id, tenant_id AS "tenantId", url, event_types AS "eventTypes", description, status,
  disabled_reason AS "disabledReason", previous_secret_expires_at AS "previousSecretExpiresAt",
  created_at AS "createdAt"`;

const DELIVERY_COLUMNS = `d.id::text AS id, d.endpoint_id AS "endpointId", d.event_id AS "eventId",
  o.event_type AS "eventType", d.status, d.attempts, d.next_attempt_at AS "nextAttemptAt",
  d.last_attempt_at AS "lastAttemptAt", d.last_status_code AS "lastStatusCode",
  d.last_latency_ms AS "lastLatencyMs", d.last_response AS "lastResponse", d.last_error AS "lastError",
  d.delivered_at AS "deliveredAt", d.created_at AS "createdAt"`;

/**
 * An endpoint's place in creation order, as sortable text: the creation instant to the
 * microsecond in UTC, then the id (ids are `we_` and hex, so `|` never occurs in them).
 */
const ENDPOINT_POSITION = `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '|' || id`;

/** The webhook API's view of endpoints and their delivery log. */
@Injectable()
export class WebhookEndpointRepository {
  constructor(private readonly dataSource: DataSource) {}

  async tenantExists(tenantId: string): Promise<boolean> {
    const found = await rows(this.dataSource, AnyRow, `SELECT 1 FROM tenant WHERE id = $1`, [
      tenantId,
    ]);
    return found.length > 0;
  }

  async countOwned(tenantId: string | null): Promise<number> {
    const row = await firstRow(
      this.dataSource,
      IntCountRow,
      `SELECT count(*)::int AS n FROM webhook_endpoint WHERE tenant_id IS NOT DISTINCT FROM $1`,
      [tenantId],
    );
    return row?.n ?? 0;
  }

  async create(row: {
    id: string;
    tenantId: string | null;
    url: string;
    eventTypes: readonly string[];
    description: string;
    secretCiphertext: Buffer;
  }): Promise<EndpointRow> {
    const found = await rows(
      this.dataSource,
      EndpointDbRow,
      `INSERT INTO webhook_endpoint (id, tenant_id, url, event_types, description, secret_ciphertext)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${ENDPOINT_COLUMNS}`,
      [row.id, row.tenantId, row.url, row.eventTypes, row.description, row.secretCiphertext],
    );
    return found[0]!;
  }

  /**
   * A page of endpoints in creation order after the keyset position `after` (`endpointPosition`
   * of the last row shown). tenantId undefined: every endpoint (admin); null: the provider's; a
   * string: that tenant's.
   */
  async endpointPage(filter: {
    tenantId: string | null | undefined;
    status: string | undefined;
    after: string | null;
    rows: number;
  }): Promise<(EndpointRow & { position: string })[]> {
    return rows(
      this.dataSource,
      EndpointPageRow,
      `SELECT ${ENDPOINT_COLUMNS}, ${ENDPOINT_POSITION} AS position FROM webhook_endpoint
       WHERE ($1::boolean OR tenant_id IS NOT DISTINCT FROM $2)
         AND ($3::text IS NULL OR status = $3)
         AND ($4::text IS NULL OR ${ENDPOINT_POSITION} > $4)
       ORDER BY ${ENDPOINT_POSITION} LIMIT $5`,
      [
        filter.tenantId === undefined,
        filter.tenantId ?? null,
        filter.status ?? null,
        filter.after,
        filter.rows,
      ],
    );
  }

  async find(id: string): Promise<EndpointRow | null> {
    return firstRow(
      this.dataSource,
      EndpointDbRow,
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoint WHERE id = $1`,
      [id],
    );
  }

  async delete(id: string): Promise<void> {
    await execute(this.dataSource, `DELETE FROM webhook_endpoint WHERE id = $1`, [id]);
  }

  /** The current secret becomes the previous one (signing until `overlapMs` from now). */
  async rotate(id: string, secretCiphertext: Buffer, overlapMs: number): Promise<EndpointRow> {
    const found = await rows(
      this.dataSource,
      EndpointDbRow,
      `UPDATE webhook_endpoint SET previous_secret_ciphertext = secret_ciphertext,
         previous_secret_expires_at = now() + make_interval(secs => $3::float8 / 1000),
         secret_ciphertext = $2
       WHERE id = $1 RETURNING ${ENDPOINT_COLUMNS}`,
      [id, secretCiphertext, overlapMs],
    );
    return found[0]!;
  }

  async secretCiphertext(id: string): Promise<Buffer | null> {
    const row = await firstRow(
      this.dataSource,
      SecretRow,
      `SELECT secret_ciphertext AS s FROM webhook_endpoint WHERE id = $1`,
      [id],
    );
    return row?.s ?? null;
  }

  async enable(id: string): Promise<EndpointRow> {
    const found = await rows(
      this.dataSource,
      EndpointDbRow,
      `UPDATE webhook_endpoint SET status = 'enabled', disabled_reason = NULL, failing_since = NULL,
         consecutive_failures = 0
       WHERE id = $1 RETURNING ${ENDPOINT_COLUMNS}`,
      [id],
    );
    return found[0]!;
  }

  /**
   * Newest first (by id), after the keyset position `before` (a delivery id): of one endpoint,
   * of one owner's endpoints (`tenantId`: null the provider's, a string that tenant's), or of all.
   */
  async deliveryPage(filter: {
    endpointId: string | undefined;
    tenantId: string | null | undefined;
    status: string | undefined;
    eventType: string | undefined;
    before: string | null;
    rows: number;
  }): Promise<DeliveryRow[]> {
    return rows(
      this.dataSource,
      DeliveryDbRow,
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_delivery d JOIN event_outbox o ON o.event_id = d.event_id
       WHERE ($1::text IS NULL OR d.endpoint_id = $1) AND ($2::text IS NULL OR d.status = $2)
         AND ($3::text IS NULL OR o.event_type = $3)
         AND ($4::bigint IS NULL OR d.id < $4::bigint)
         AND ($5::boolean OR d.endpoint_id IN
           (SELECT id FROM webhook_endpoint WHERE tenant_id IS NOT DISTINCT FROM $6))
       ORDER BY d.id DESC LIMIT $7`,
      [
        filter.endpointId ?? null,
        filter.status ?? null,
        filter.eventType ?? null,
        filter.before,
        filter.tenantId === undefined,
        filter.tenantId ?? null,
        filter.rows,
      ],
    );
  }

  async delivery(id: string): Promise<DeliveryRow | null> {
    if (!/^\d{1,18}$/.test(id)) return null;
    return firstRow(
      this.dataSource,
      DeliveryDbRow,
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_delivery d JOIN event_outbox o ON o.event_id = d.event_id
       WHERE d.id = $1`,
      [id],
    );
  }

  /** Due now again, with a fresh retry window; the attempt count goes on. */
  async redeliver(id: string): Promise<DeliveryRow> {
    await execute(
      this.dataSource,
      `UPDATE webhook_delivery SET status = 'pending', next_attempt_at = now(),
         window_started_at = now(), locked_until = NULL, delivered_at = NULL
       WHERE id = $1`,
      [id],
    );
    return (await this.delivery(id))!;
  }
}
