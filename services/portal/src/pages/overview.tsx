import { api, call } from '../api/client';
import type { components } from '../api/billing-api';
import { BudgetThresholds } from '../components/budget-thresholds';
import { InvoiceLines } from '../components/invoice-lines';
import { Empty, Loading, ProblemBox } from '../components/states';
import { localDateTime, money, percent, periodName } from '../format';
import { useAsync } from '../hooks/use-async';
import { href } from '../router';
import type { Session } from '../session';

type Overview = components['schemas']['TenantOverviewDto'];
type ToDate = Overview['monthToDate'];

/** `+12.3 %` against last month, or words when last month had nothing. */
function change(now: string, before: string): string {
  const a = Number(now);
  const b = Number(before);
  if (b === 0) return a === 0 ? 'same as' : 'new since';
  const pct = ((a - b) / b) * 100;
  const sign = pct > 0 ? '+' : pct < 0 ? '−' : '±';
  return `${sign}${Math.abs(pct).toFixed(1)} % against`;
}

function Compare({
  title,
  now,
  before,
  format,
  unit,
  testId,
}: {
  title: string;
  now: string;
  before: string;
  format: (v: string) => string;
  unit?: string;
  testId: string;
}) {
  return (
    <section class="card" aria-labelledby={`${testId}-h`}>
      <h2 id={`${testId}-h`}>{title}</h2>
      <p class="figure">
        <span data-testid={testId}>{format(now)}</span>
        {unit === undefined ? null : <span class="unit"> {unit}</span>}
      </p>
      <p class="compare">
        {change(now, before)} last month at the same point: {format(before)}
        {unit === undefined ? '' : ` ${unit}`}
      </p>
    </section>
  );
}

/** Month to date against last month at the same day, the draft's lines, the forecast. */
export function Overview({ session }: { session: Session }) {
  const [overview, reload] = useAsync(
    () =>
      call(api.GET('/v1/tenants/{id}/overview', { params: { path: { id: session.tenantId } } })),
    [session.tenantId],
  );
  if (overview.state === 'loading')
    return (
      <>
        <h1 tabIndex={-1}>Overview</h1>
        <Loading what="this month’s figures" />
      </>
    );
  if (overview.state === 'error')
    return (
      <>
        <h1 tabIndex={-1}>Overview</h1>
        <ProblemBox problem={overview.problem} retry={reload} />
      </>
    );
  const o = overview.data;
  const cur = o.currency;
  const mtd: ToDate = o.monthToDate;
  const last: ToDate = o.lastMonthToDate;
  const hours = (v: string): string => Number(v).toFixed(2);

  return (
    <>
      <h1 tabIndex={-1}>Overview — {periodName(o.period.period)}</h1>
      <p class="hint">
        Month to date, up to {localDateTime(mtd.to, o.timeZone)} ({o.timeZone}), compared with{' '}
        {periodName(last.period)} up to the same day and time.
      </p>
      <div class="cards">
        <Compare
          title="Spend so far"
          now={mtd.amount}
          before={last.amount}
          format={(v) => money(v, cur)}
          testId="mtd-amount"
        />
        <Compare
          title="CPU"
          now={mtd.cpuCoreHours}
          before={last.cpuCoreHours}
          format={hours}
          unit="core-hours"
          testId="mtd-cpu"
        />
        <Compare
          title="Memory"
          now={mtd.memoryGibHours}
          before={last.memoryGibHours}
          format={hours}
          unit="GiB-hours"
          testId="mtd-memory"
        />
        <section class="card forecast" aria-labelledby="forecast-h">
          <h2 id="forecast-h">
            <span class="tag">Forecast</span> Month end
          </h2>
          <p class="figure" data-testid="forecast-amount">
            {o.forecast.amount === null ? 'not yet' : money(o.forecast.amount, cur)}
          </p>
          <p class="compare">
            {o.forecast.amount === null
              ? 'A forecast needs at least an hour of this month.'
              : o.forecast.description}
          </p>
        </section>
      </div>
      <h2>Draft invoice lines</h2>
      <p>
        The {o.invoice.status} invoice for {periodName(o.invoice.period)}, as it stands now:{' '}
        <a href={href({ page: 'invoice', period: o.invoice.period })}>open the invoice</a> for its
        resources and daily usage.
      </p>
      {o.invoice.lines.length === 0 ? (
        <Empty>
          <p>No lines yet: nothing has been used this month, or no price plan applies.</p>
        </Empty>
      ) : (
        <InvoiceLines
          lines={o.invoice.lines}
          currency={cur}
          label="Draft invoice lines"
          total={o.invoice.total}
          totalLabel="Total so far (before tax)"
          totalTestId="draft-total"
        />
      )}
      <h2>Completeness</h2>
      <p data-testid="completeness">
        {percent(o.completeness.ratio)} of the time so far was observed by the collectors.
        {o.completeness.ratio !== null && Number(o.completeness.ratio) < 0.99
          ? ' Some samples are missing: figures may rise when late samples arrive.'
          : ''}
      </p>
      <BudgetThresholds session={session} thresholds={o.budgetThresholds} changed={reload} />
    </>
  );
}
