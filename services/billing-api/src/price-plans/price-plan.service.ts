import { Injectable } from '@nestjs/common';
import { decimalToString, Decimal } from '@metering/money';
import { parseTiers, type TierInput } from '@metering/pricing';
import { NotFoundError, UnprocessableError } from '../common/billing.errors';
import { type CreatePricePlanDto, type PricePlanDto } from './price-plan.dto';
import { type PlanRow, PricePlanRepository } from './price-plan.repository';

@Injectable()
export class PricePlanService {
  constructor(private readonly plans: PricePlanRepository) {}

  /**
   * Validates the tiers with libs/pricing (its errors name the field: cpu.tiers[1].upTo) and
   * stores the plan as the next version of its id. Versions are never changed afterwards.
   */
  async create(dto: CreatePricePlanDto): Promise<PricePlanDto> {
    const cpu = dto.cpu == null ? null : normalise('cpu.tiers', dto.cpu.tiers);
    const memory = dto.memory == null ? null : normalise('memory.tiers', dto.memory.tiers);
    const minimum = new Decimal(dto.minimum ?? '0');
    if (minimum.isNegative() && !minimum.isZero()) {
      throw new UnprocessableError('PLAN_INVALID', 'minimum', 'must be >= 0');
    }
    const row = await this.plans.insertNextVersion({
      id: dto.id,
      currency: dto.currency,
      basis: dto.basis,
      cpuTiers: cpu,
      memoryTiers: memory,
      minimum: decimalToString(minimum),
    });
    return toDto(row);
  }

  async latest(id: string): Promise<PricePlanDto[]> {
    const versions = await this.plans.versions(id);
    if (versions.length === 0)
      throw new NotFoundError('PLAN_NOT_FOUND', `price plan ${id} does not exist`);
    return versions.map(toDto);
  }
}

/** Checked by parseTiers (throws PricingError naming the field), stored as canonical strings. */
function normalise(field: string, tiers: readonly TierInput[]): TierInput[] {
  return parseTiers(field, tiers).map((t) => ({
    upTo: t.upTo === null ? null : decimalToString(t.upTo),
    unitPrice: decimalToString(t.unitPrice),
  }));
}

export function toDto(row: PlanRow): PricePlanDto {
  return {
    id: row.id,
    version: row.version,
    currency: row.currency,
    basis: row.basis,
    cpu: row.cpuTiers === null ? null : { tiers: row.cpuTiers },
    memory: row.memoryTiers === null ? null : { tiers: row.memoryTiers },
    minimum: row.minimum,
    createdAt: row.createdAt.toISOString(),
  };
}
