import { Injectable } from '@nestjs/common';
import { byteSecondsToGibSeconds, Decimal, SECONDS_PER_HOUR } from '@metering/money';
import { periodBounds, periodOf } from '@metering/pricing';
import { BudgetThresholdService } from '../budget/budget-threshold.service';
import { UnprocessableError } from '../common/billing.errors';
import { Clock } from '../common/clock';
import { type InvoiceDocument, shiftPeriod } from '../invoices/domain';
import { InvoiceService, toAssignments } from '../invoices/invoice.service';
import { TenantRepository, type TenantRow } from '../tenants/tenant.repository';
import { TenantService } from '../tenants/tenant.service';
import { forecastMonthEnd } from './domain/month-forecast';
import { samePointLastMonth } from './domain/month-to-date';
import { type ToDateFiguresDto, type TenantOverviewDto } from './tenant-overview.dto';

const FORECAST_DESCRIPTION =
  'Month-to-date figures divided by the elapsed share of the month (a linear run-rate), the amount raised to the minimum commitment; a forecast, not a charge: adjustments and tax are not included';

/**
 * The portal's overview of a tenant's month (GET /v1/tenants/:id/overview): to-date figures
 * against last month at the same point, the month's invoice, a forecast. Pricing is the
 * invoice's (InvoiceService); the forecast is a pure function (domain/month-forecast.ts).
 */
@Injectable()
export class TenantOverviewService {
  constructor(
    private readonly tenants: TenantService,
    private readonly tenantRepository: TenantRepository,
    private readonly invoices: InvoiceService,
    private readonly budgets: BudgetThresholdService,
    private readonly clock: Clock,
  ) {}

  async overview(tenantId: string, at: string | undefined): Promise<TenantOverviewDto> {
    const tenant = await this.tenants.require(tenantId);
    const now = this.clock.now();
    const atMs = at === undefined ? now : Date.parse(at);
    if (atMs > now)
      throw new UnprocessableError('RANGE_INVALID', 'at', 'must not be in the future');
    const zone = tenant.timeZone;
    const period = periodOf(atMs, zone);
    const { startMs, endMs } = periodBounds(period, zone);
    const previous = shiftPeriod(period, -1);
    const previousAtMs = samePointLastMonth(atMs, zone, previous);
    const assignments = toAssignments(await this.tenantRepository.assignedPlans([tenant.id]));

    const [toDate, lastToDate, { invoice }, thresholds] = await Promise.all([
      this.invoices.priceUntil(tenant, period, atMs, assignments),
      this.invoices.priceUntil(tenant, previous, previousAtMs, assignments),
      this.invoices.get(tenant.id, period),
      this.budgets.list(tenant.id),
    ]);
    const monthToDate = figures(tenant, toDate, atMs);
    const forecast = forecastMonthEnd({
      periodStartMs: startMs,
      periodEndMs: endMs,
      atMs,
      currency: tenant.currency,
      amountToDate: monthToDate.amount,
      cpuCoreHoursToDate: monthToDate.cpuCoreHours,
      memoryGibHoursToDate: monthToDate.memoryGibHours,
      minimumCommitment: invoice.minimum.prorated,
    });
    return {
      tenantId: tenant.id,
      timeZone: zone,
      currency: tenant.currency,
      at: new Date(atMs).toISOString(),
      period: {
        period,
        start: new Date(startMs).toISOString(),
        end: new Date(endMs).toISOString(),
        elapsedShare: forecast.elapsedShare,
      },
      monthToDate,
      lastMonthToDate: figures(tenant, lastToDate, previousAtMs),
      invoice: {
        period: invoice.period,
        status: invoice.status,
        number: invoice.number,
        currency: invoice.currency,
        lines: invoice.lines,
        subtotal: invoice.subtotal,
        minimum: invoice.minimum,
        total: invoice.total,
        tax: invoice.tax ?? null,
        gross: invoice.gross ?? null,
      },
      forecast: {
        isForecast: true,
        ...forecast,
        description: FORECAST_DESCRIPTION,
        currency: tenant.currency,
      },
      completeness: invoice.completeness,
      budgetThresholds: thresholds.data,
    };
  }
}

function figures(tenant: TenantRow, priced: InvoiceDocument, toMs: number): ToDateFiguresDto {
  const hours = (seconds: Decimal): string =>
    seconds.div(SECONDS_PER_HOUR).toDecimalPlaces(6, Decimal.ROUND_HALF_UP).toFixed();
  return {
    period: priced.period,
    from: priced.periodStart,
    to: new Date(Math.min(toMs, Date.parse(priced.periodEnd))).toISOString(),
    amount: priced.subtotal,
    currency: tenant.currency,
    cpuCoreHours: hours(new Decimal(priced.usageTotals.cpuUsageCoreSeconds)),
    memoryGibHours: hours(byteSecondsToGibSeconds(priced.usageTotals.memoryUsageByteSeconds)),
  };
}
