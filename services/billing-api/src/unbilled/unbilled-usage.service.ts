import { Inject, Injectable } from '@nestjs/common';
import { byteSecondsToGibSeconds, Decimal, decimalToString } from '@metering/money';
import { periodBounds } from '@metering/pricing';
import { type BillingConfig } from '../config';
import { ValidationFailedError } from '../common/billing.errors';
import { BILLING_CONFIG } from '../common/tokens';
import { ID_PATTERN } from '../common/validators';
import { decodeCursor, encodeCursor } from './unbilled-cursor';
import { type UnbilledUsageDto, type UnbilledUsagePageDto } from './unbilled-usage.dto';
import { type ScannedTenant, UnbilledUsageRepository } from './unbilled-usage.repository';

/** Tenant ids read per query: bounds one statement whatever the ledger holds. */
const SCAN_CHUNK = 500;
/** Tenant ids one page may scan: a page can hold fewer items than asked, never cost more. */
const PAGE_SCAN_BUDGET = 20 * SCAN_CHUNK;

export interface UnbilledSummary {
  readonly tenants: number;
  readonly cpuCoreSeconds: Decimal;
  readonly memoryGibSeconds: Decimal;
}

/**
 * Usage rated for tenant ids that are not registered: rating keeps it (the ledger never drops
 * usage) but no invoice carries it until the tenant is registered. Periods are months of the
 * zone rating buckets unknown tenants in (UNBILLED_TIME_ZONE = rating's DEFAULT_TIME_ZONE).
 */
@Injectable()
export class UnbilledUsageService {
  constructor(
    private readonly repository: UnbilledUsageRepository,
    @Inject(BILLING_CONFIG) private readonly config: BillingConfig,
  ) {}

  /** One page in tenant-id order (the database's); `nextCursor` null when the scan ended. */
  async page(period: string, limit: number, cursor?: string): Promise<UnbilledUsagePageDto> {
    let afterId: string | null = null;
    if (cursor !== undefined) {
      afterId = decodeCursor(cursor);
      if (afterId === null) {
        throw new ValidationFailedError([
          { field: 'cursor', message: 'is not a cursor this route returned' },
        ]);
      }
    }
    const { timeZone } = this.config.unbilled;
    const { startMs, endMs } = periodBounds(period, timeZone);
    const items: UnbilledUsageDto[] = [];
    const chunk = Math.min(SCAN_CHUNK, Math.max(limit, 50));
    let nextCursor: string | null = null;
    for (let scanned = 0; ;) {
      const rows = await this.scan(afterId, chunk, startMs, endMs);
      scanned += rows.length;
      // Fewer ids than asked for: the scan reached the ledger's last tenant id.
      const exhausted = rows.length < chunk;
      let full = false;
      for (const [i, row] of rows.entries()) {
        afterId = row.tenantId;
        const item = toDto(row);
        if (item !== null) items.push(item);
        if (items.length === limit) {
          full = !(exhausted && i === rows.length - 1);
          break;
        }
      }
      if (full || (!exhausted && scanned >= PAGE_SCAN_BUDGET)) {
        nextCursor = afterId === null ? null : encodeCursor(afterId);
        break;
      }
      if (exhausted || items.length === limit) break;
    }
    return {
      period,
      timeZone,
      periodStart: new Date(startMs).toISOString(),
      periodEnd: new Date(endMs).toISOString(),
      data: items,
      nextCursor,
    };
  }

  /**
   * Every unregistered tenant with usage in [fromMs, toMs), summed. Stops with an error once
   * `deadlineMs` (an absolute time) has passed, so a refresh never runs unbounded.
   */
  async summary(fromMs: number, toMs: number, deadlineMs: number): Promise<UnbilledSummary> {
    let tenants = 0;
    let cpu = new Decimal(0);
    let memoryByteSeconds = new Decimal(0);
    let afterId: string | null = null;
    for (;;) {
      const remainingMs = deadlineMs - Date.now();
      if (remainingMs <= 0) throw new UnbilledScanTimeoutError();
      const rows = await this.repository.scan({
        afterId,
        count: SCAN_CHUNK,
        fromMs,
        toMs,
        timeoutMs: Math.max(100, Math.min(remainingMs, this.config.unbilled.queryTimeoutMs)),
      });
      for (const row of rows) {
        afterId = row.tenantId;
        if (row.usage === null) continue;
        tenants += 1;
        cpu = cpu.plus(row.usage.cpuCoreSeconds);
        memoryByteSeconds = memoryByteSeconds.plus(row.usage.memoryByteSeconds);
      }
      if (rows.length < SCAN_CHUNK) break;
    }
    return {
      tenants,
      cpuCoreSeconds: cpu,
      memoryGibSeconds: byteSecondsToGibSeconds(memoryByteSeconds),
    };
  }

  private scan(
    afterId: string | null,
    count: number,
    fromMs: number,
    toMs: number,
  ): Promise<ScannedTenant[]> {
    return this.repository.scan({
      afterId,
      count,
      fromMs,
      toMs,
      timeoutMs: this.config.unbilled.queryTimeoutMs,
    });
  }
}

export class UnbilledScanTimeoutError extends Error {
  readonly code = 'UNBILLED_SCAN_TIMEOUT';
  constructor() {
    super('the unbilled-usage scan did not finish within UNBILLED_QUERY_TIMEOUT_MS');
    this.name = 'UnbilledScanTimeoutError';
  }
}

function toDto(row: ScannedTenant): UnbilledUsageDto | null {
  if (row.usage === null) return null;
  return {
    tenantId: row.tenantId,
    registrable: ID_PATTERN.test(row.tenantId),
    cpuCoreSeconds: decimalToString(new Decimal(row.usage.cpuCoreSeconds)),
    memoryGibSeconds: decimalToString(byteSecondsToGibSeconds(row.usage.memoryByteSeconds)),
    resources: row.usage.resources,
    firstBucketStart: row.usage.firstBucketStart.toISOString(),
    lastBucketStart: row.usage.lastBucketStart.toISOString(),
  };
}
