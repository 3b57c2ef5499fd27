import { Injectable } from '@nestjs/common';
import { byteSecondsToGibSeconds, Decimal, decimalToString } from '@metering/money';
import {
  type CompletenessCounters,
  NO_COUNTERS,
  addCounters,
  completenessShare,
  shareToFixed,
} from '@metering/pricing';
import { UnprocessableError } from '../common/billing.errors';
import { TenantService } from '../tenants/tenant.service';
import { type UsageQueryDto, type UsageResourceDto, type UsageResponseDto } from './usage.dto';
import { type ResourceDetails, UsageRepository } from './usage.repository';

const DAY_MS = 86_400_000;
/** Bounds on one answer: about 2,200 hourly or 366 daily items per resource. */
const MAX_RANGE_MS = { hour: 92 * DAY_MS, day: 366 * DAY_MS } as const;

@Injectable()
export class UsageService {
  constructor(
    private readonly tenants: TenantService,
    private readonly usage: UsageRepository,
  ) {}

  async report(tenantId: string, q: UsageQueryDto): Promise<UsageResponseDto> {
    const tenant = await this.tenants.require(tenantId);
    const fromMs = Date.parse(q.from);
    const toMs = Date.parse(q.to);
    const granularity = q.granularity ?? 'hour';
    const basis = q.basis ?? 'usage';
    if (toMs <= fromMs) throw new UnprocessableError('RANGE_INVALID', 'to', 'must be after from');
    if (toMs - fromMs > MAX_RANGE_MS[granularity]) {
      throw new UnprocessableError(
        'RANGE_INVALID',
        'to',
        `the range may span at most ${MAX_RANGE_MS[granularity] / DAY_MS} days at ${granularity} granularity`,
      );
    }
    const rows = await this.usage.series({
      tenantId: tenant.id,
      fromMs,
      toMs,
      granularity,
      byResource: q.by === 'resource',
      basis,
      timeZone: tenant.timeZone,
    });
    const byResource = q.by === 'resource';
    const details = byResource
      ? await this.usage.resources(tenant.id, [
          ...new Set(rows.map((r) => r.resourceId).filter((id): id is string => id !== null)),
        ])
      : new Map<string, ResourceDetails>();
    let cpu = new Decimal(0);
    let memory = new Decimal(0);
    let counters = NO_COUNTERS;
    const kinds = new Map<string, string>();
    const items = rows.map((r) => {
      cpu = cpu.plus(r.cpuCoreSeconds);
      memory = memory.plus(r.memoryByteSeconds);
      counters = addCounters(counters, r.completeness);
      return {
        start: new Date(r.startMs).toISOString(),
        ...(r.resourceId === null
          ? {}
          : {
              resourceId: r.resourceId,
              resourceKind: kindOf(r.resourceId, r.resourceKind),
              resourceName: details.get(r.resourceId)?.name ?? null,
            }),
        cpuCoreSeconds: decimalToString(new Decimal(r.cpuCoreSeconds)),
        memoryGibSeconds: decimalToString(byteSecondsToGibSeconds(r.memoryByteSeconds)),
        ...completenessFields(r.completeness),
      };
    });
    return {
      tenantId: tenant.id,
      granularity,
      basis,
      timeZone: tenant.timeZone,
      items,
      totals: {
        cpuCoreSeconds: decimalToString(cpu),
        memoryGibSeconds: decimalToString(byteSecondsToGibSeconds(memory)),
        ...completenessFields(counters),
      },
      ...(byResource
        ? {
            resources: [...kinds]
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .map(([id, kind]) => resourceOf(id, kind)),
          }
        : {}),
    };

    function kindOf(id: string, kind: string | null): string {
      const k = kind ?? 'container';
      if (!kinds.has(id)) kinds.set(id, k);
      return k;
    }

    function resourceOf(id: string, kind: string): UsageResourceDto {
      const d = details.get(id);
      return {
        id,
        kind: d?.kind ?? kind,
        name: d?.name ?? null,
        image: d?.image ?? null,
        flavour: d?.flavour ?? null,
        host: d?.host ?? null,
        firstSeen: d === undefined ? null : new Date(d.firstSeenMs).toISOString(),
        lastSeen: d === undefined ? null : new Date(d.lastSeenMs).toISOString(),
      };
    }
  }
}

/**
 * The completeness of an item (a resource's, with by=resource; else its resources' counts pooled)
 * and the counts behind it: the same figure as invoices show (docs/product.md, "Completeness").
 */
function completenessFields(c: CompletenessCounters): {
  completeness: string | null;
  samplesExpected: string;
  samplesObserved: string;
  samplesThinned: string;
  gapMs: string;
  inferredGapMs: string;
} {
  const share = completenessShare(c);
  return {
    completeness: share === null ? null : shareToFixed(share, 4),
    samplesExpected: c.samplesExpected.toString(),
    samplesObserved: c.samplesObserved.toString(),
    samplesThinned: c.samplesThinned.toString(),
    gapMs: c.gapMs.toString(),
    inferredGapMs: c.inferredGapMs.toString(),
  };
}
