import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { INVOICE_EVENT_TYPES, isPrintableText, utf8ByteLength } from '@metering/contracts';
import { type Principal } from '../auth/principal';
import {
  ConflictError,
  type FieldProblem,
  NotFoundError,
  ValidationFailedError,
} from '../common/billing.errors';
import { isPageLimit, type Page, PAGE_MAX } from '../common/page.dto';
import { PageCursors } from '../common/page-cursor';
import { BILLING_CONFIG } from '../common/tokens';
import { type BillingConfig } from '../config';
import { checkWebhookUrl } from './webhook-url.policy';
import {
  type DeliveryRow,
  type EndpointRow,
  WebhookEndpointRepository,
} from './webhook-endpoint.repository';
import { WebhookSecretCipher } from './webhook-secret.cipher';
import { DELIVERY_STATUSES, ENDPOINT_STATUSES } from './domain/delivery-log';

/** Endpoints per owner (the provider, or one tenant). */
export const MAX_ENDPOINTS_PER_OWNER = 20;
const MAX_DESCRIPTION_BYTES = 256;
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** `limit` and `cursor` as a query string carries them (the API and the operator CLI). */
export interface PageRequest {
  readonly limit?: unknown;
  readonly cursor?: unknown;
}

/** Filters of the endpoint list, each optional; checked here (400 naming the field). */
export interface EndpointPageQuery extends PageRequest {
  /** Admin key only: one tenant's endpoints (a tenant key sees its own). */
  readonly tenantId?: unknown;
  readonly status?: unknown;
}

/** Filters of the delivery log, each optional; checked here (400 naming the field). */
export interface DeliveryPageQuery extends PageRequest {
  /** One endpoint's log; absent: every endpoint the principal sees. */
  readonly endpointId?: unknown;
  readonly status?: unknown;
  readonly eventType?: unknown;
}

export interface EndpointView {
  id: string;
  tenantId: string | null;
  url: string;
  eventTypes: string[];
  description: string;
  status: 'enabled' | 'disabled';
  disabledReason: string | null;
  /** While a rotated-out secret still signs (both signatures are sent until then). */
  previousSecretExpiresAt: string | null;
  createdAt: string;
}

export interface DeliveryView {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastStatusCode: number | null;
  lastLatencyMs: number | null;
  /** The last response's first 1 KiB. */
  lastResponse: string | null;
  lastError: string | null;
  deliveredAt: string | null;
  createdAt: string;
}

/**
 * Webhook endpoints: registered by the provider (admin key; optionally for a tenant) or by a
 * tenant (its key; always its own). A tenant sees and changes only its own endpoints; anything
 * else answers 404 exactly like an unknown id.
 */
@Injectable()
export class WebhookEndpointService {
  private readonly key: Buffer | null;

  constructor(
    private readonly endpoints: WebhookEndpointRepository,
    private readonly cursors: PageCursors,
    @Inject(BILLING_CONFIG) private readonly config: BillingConfig,
  ) {
    this.key = config.automation.webhooks.secretKey;
  }

  /** Secrets cannot be kept without the key (production without WEBHOOK_SECRET_KEY). */
  private get cipher(): WebhookSecretCipher {
    if (this.key === null) {
      throw new ConflictError(
        'WEBHOOKS_NOT_CONFIGURED',
        'webhooks are off: set WEBHOOK_SECRET_KEY (docs/operations.md, "Invoice events and webhooks")',
      );
    }
    return new WebhookSecretCipher(this.key);
  }

  async create(principal: Principal, body: unknown): Promise<EndpointView & { secret: string }> {
    const input = this.parseCreate(principal, body);
    if (input.tenantId !== null && !(await this.endpoints.tenantExists(input.tenantId))) {
      throw new NotFoundError(
        'WEBHOOK_ENDPOINT_NOT_FOUND',
        `tenantId: tenant ${input.tenantId} does not exist`,
      );
    }
    if ((await this.endpoints.countOwned(input.tenantId)) >= MAX_ENDPOINTS_PER_OWNER) {
      throw new ConflictError(
        'WEBHOOK_ENDPOINT_LIMIT',
        `at most ${MAX_ENDPOINTS_PER_OWNER} webhook endpoints per owner; delete one first`,
      );
    }
    const id = `we_${randomBytes(12).toString('hex')}`;
    const secret = WebhookSecretCipher.newSecret();
    const row = await this.endpoints.create({
      ...input,
      id,
      secretCiphertext: this.cipher.encrypt(secret, id),
    });
    return { ...view(row), secret };
  }

  /**
   * Endpoints in creation order, a page at a time (`{data, nextCursor}` like every list): the
   * admin's all or one tenant's (`tenantId`), a tenant key's its own (another tenant's id: an
   * empty page, as for an unknown one); optionally by `status`.
   */
  async endpointPage(principal: Principal, query: EndpointPageQuery): Promise<Page<EndpointView>> {
    const problems = pageProblems(query);
    const { tenantId, status } = query;
    if (tenantId !== undefined && (typeof tenantId !== 'string' || !ID_PATTERN.test(tenantId))) {
      problems.push({ field: 'tenantId', message: 'must be a tenant id' });
    }
    problems.push(...oneOf('status', status, ENDPOINT_STATUSES));
    if (problems.length > 0) throw new ValidationFailedError(problems);
    let owner = tenantId as string | undefined;
    if (principal.kind === 'tenant') {
      if (owner !== undefined && owner !== principal.tenantId)
        return { data: [], nextCursor: null };
      owner = principal.tenantId;
    }
    return this.cursors.page(
      ['webhook-endpoints', owner, status as string | undefined],
      pageOfQuery(query),
      (after, rows) =>
        this.endpoints.endpointPage({
          tenantId: owner,
          status: status as string | undefined,
          after,
          rows,
        }),
      (row) => row.position,
      view,
    );
  }

  async get(principal: Principal, id: string): Promise<EndpointView> {
    return view(await this.visible(principal, id));
  }

  async delete(principal: Principal, id: string): Promise<void> {
    await this.visible(principal, id);
    await this.endpoints.delete(id);
  }

  async rotate(
    principal: Principal,
    id: string,
    body: unknown,
  ): Promise<EndpointView & { secret: string }> {
    await this.visible(principal, id);
    const max = this.config.automation.webhooks.secretOverlapMs;
    let overlapMs = max;
    const raw = isObject(body) ? body['overlapSeconds'] : undefined;
    if (raw !== undefined) {
      if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0 || raw * 1000 > max) {
        throw new ValidationFailedError([
          { field: 'overlapSeconds', message: `must be a whole number from 0 to ${max / 1000}` },
        ]);
      }
      overlapMs = raw * 1000;
    }
    const secret = WebhookSecretCipher.newSecret();
    const row = await this.endpoints.rotate(id, this.cipher.encrypt(secret, id), overlapMs);
    return { ...view(row), secret };
  }

  async enable(principal: Principal, id: string): Promise<EndpointView> {
    await this.visible(principal, id);
    return view(await this.endpoints.enable(id));
  }

  /**
   * The delivery log newest first, a page at a time: of one endpoint (`endpointId`) or of every
   * endpoint the principal sees; by `status` and `eventType`. `cursor` is the previous page's
   * `nextCursor` (bound to the principal and the filters). The HTTP route and the operator CLI
   * both list through here.
   */
  async deliveryPage(principal: Principal, query: DeliveryPageQuery): Promise<Page<DeliveryView>> {
    const { endpointId, status, eventType } = query;
    if (endpointId !== undefined) {
      await this.visible(principal, typeof endpointId === 'string' ? endpointId : '');
    }
    const problems = [
      ...pageProblems(query),
      ...oneOf('status', status, DELIVERY_STATUSES),
      ...oneOf('eventType', eventType, INVOICE_EVENT_TYPES),
    ];
    if (problems.length > 0) throw new ValidationFailedError(problems);
    const filters = {
      endpointId: endpointId as string | undefined,
      tenantId: principal.kind === 'tenant' ? principal.tenantId : undefined,
      status: status as string | undefined,
      eventType: eventType as string | undefined,
    };
    return this.cursors.page(
      [
        'webhook-deliveries',
        filters.tenantId,
        filters.endpointId,
        filters.status,
        filters.eventType,
      ],
      pageOfQuery(query),
      (before, rows) => this.endpoints.deliveryPage({ ...filters, before, rows }),
      (row) => row.id,
      deliveryView,
    );
  }

  async redeliver(principal: Principal, deliveryId: string): Promise<DeliveryView> {
    const delivery = await this.endpoints.delivery(deliveryId);
    const endpoint = delivery === null ? null : await this.endpoints.find(delivery.endpointId);
    if (delivery === null || endpoint === null || !canSee(principal, endpoint)) {
      throw new NotFoundError(
        'WEBHOOK_DELIVERY_NOT_FOUND',
        `webhook delivery ${deliveryId} does not exist`,
      );
    }
    if (endpoint.status === 'disabled') {
      throw new ConflictError(
        'WEBHOOK_ENDPOINT_DISABLED',
        `endpoint ${endpoint.id} is disabled; enable it first (POST /v1/webhook-endpoints/${endpoint.id}/enable)`,
      );
    }
    return deliveryView(await this.endpoints.redeliver(deliveryId));
  }

  private async visible(principal: Principal, id: string): Promise<EndpointRow> {
    const row = ID_PATTERN.test(id) ? await this.endpoints.find(id) : null;
    if (row === null || !canSee(principal, row)) {
      throw new NotFoundError(
        'WEBHOOK_ENDPOINT_NOT_FOUND',
        `webhook endpoint ${id} does not exist`,
      );
    }
    return row;
  }

  private parseCreate(
    principal: Principal,
    body: unknown,
  ): { tenantId: string | null; url: string; eventTypes: string[]; description: string } {
    if (!isObject(body)) {
      throw new ValidationFailedError([{ field: 'body', message: 'must be a JSON object' }]);
    }
    const problems: FieldProblem[] = [];
    const url = checkWebhookUrl(body['url'], {
      requireHttps: this.config.automation.webhooks.requireHttps,
      allowedCidrs: this.config.automation.webhooks.allowedCidrs,
    });
    if (!url.ok) problems.push({ field: 'url', message: url.message });

    const eventTypes: string[] = [];
    const types = body['eventTypes'];
    if (!Array.isArray(types) || types.length === 0) {
      problems.push({
        field: 'eventTypes',
        message: `must be a non-empty array of ${INVOICE_EVENT_TYPES.join(', ')}`,
      });
    } else if (types.length > INVOICE_EVENT_TYPES.length) {
      problems.push({ field: 'eventTypes', message: 'lists a type more than once' });
    } else {
      types.forEach((t: unknown, i) => {
        if (typeof t !== 'string' || !(INVOICE_EVENT_TYPES as readonly string[]).includes(t)) {
          problems.push({
            field: `eventTypes[${i}]`,
            message: `must be one of ${INVOICE_EVENT_TYPES.join(', ')}`,
          });
        } else if (eventTypes.includes(t)) {
          problems.push({ field: `eventTypes[${i}]`, message: 'is listed twice' });
        } else eventTypes.push(t);
      });
    }

    const description = body['description'] ?? '';
    if (
      typeof description !== 'string' ||
      !isPrintableText(description) ||
      utf8ByteLength(description) > MAX_DESCRIPTION_BYTES
    ) {
      problems.push({
        field: 'description',
        message: `must be text of at most ${MAX_DESCRIPTION_BYTES} bytes without control characters`,
      });
    }

    let tenantId: string | null = null;
    const requested = body['tenantId'];
    if (requested !== undefined && requested !== null) {
      if (typeof requested !== 'string' || !ID_PATTERN.test(requested)) {
        problems.push({ field: 'tenantId', message: 'must be a tenant id' });
      } else tenantId = requested;
    }
    if (principal.kind === 'tenant') {
      // A tenant key registers for its own tenant only; naming another is "not found".
      if (tenantId !== null && tenantId !== principal.tenantId) {
        throw new NotFoundError(
          'WEBHOOK_ENDPOINT_NOT_FOUND',
          `tenantId: tenant ${tenantId} does not exist`,
        );
      }
      tenantId = principal.tenantId;
    }
    if (problems.length > 0) throw new ValidationFailedError(problems);
    return {
      tenantId,
      url: (url as { url: string }).url,
      eventTypes,
      description: description as string,
    };
  }
}

/** `limit` (1…PAGE_MAX, digits as in a query string; a whole number from the CLI) and `cursor`. */
function pageProblems(query: PageRequest): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const { limit, cursor } = query;
  const text = typeof limit === 'number' && Number.isSafeInteger(limit) ? String(limit) : limit;
  if (text !== undefined && !isPageLimit(text, PAGE_MAX)) {
    problems.push({ field: 'limit', message: `must be a whole number from 1 to ${PAGE_MAX}` });
  }
  if (cursor !== undefined && (typeof cursor !== 'string' || cursor.length > 2100)) {
    problems.push({ field: 'cursor', message: 'must be the nextCursor of the previous page' });
  }
  return problems;
}

/** The query once pageProblems passed it: limit digits (or a whole number), cursor a string. */
function pageOfQuery(query: PageRequest): { limit?: string; cursor?: string } {
  const { limit, cursor } = query;
  const limitText = typeof limit === 'number' ? String(limit) : (limit as string | undefined);
  return {
    ...(limitText !== undefined && { limit: limitText }),
    ...(cursor !== undefined && { cursor: cursor as string }),
  };
}

function oneOf(field: string, value: unknown, allowed: readonly string[]): FieldProblem[] {
  return value === undefined || (typeof value === 'string' && allowed.includes(value))
    ? []
    : [{ field, message: `must be one of ${allowed.join(', ')}` }];
}

function canSee(principal: Principal, endpoint: EndpointRow): boolean {
  return principal.kind === 'admin' || endpoint.tenantId === principal.tenantId;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const iso = (d: Date | null): string | null => (d === null ? null : new Date(d).toISOString());

function view(row: EndpointRow): EndpointView {
  return {
    id: row.id,
    tenantId: row.tenantId,
    url: row.url,
    eventTypes: row.eventTypes,
    description: row.description,
    status: row.status,
    disabledReason: row.disabledReason,
    previousSecretExpiresAt: iso(row.previousSecretExpiresAt),
    createdAt: iso(row.createdAt)!,
  };
}

function deliveryView(row: DeliveryRow): DeliveryView {
  return {
    id: row.id,
    endpointId: row.endpointId,
    eventId: row.eventId,
    eventType: row.eventType,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === 'pending' ? iso(row.nextAttemptAt) : null,
    lastAttemptAt: iso(row.lastAttemptAt),
    lastStatusCode: row.lastStatusCode,
    lastLatencyMs: row.lastLatencyMs,
    lastResponse: row.lastResponse,
    lastError: row.lastError,
    deliveredAt: iso(row.deliveredAt),
    createdAt: iso(row.createdAt)!,
  };
}
