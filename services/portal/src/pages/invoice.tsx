import { api, apiUrl, call } from '../api/client';
import { InvoiceLines } from '../components/invoice-lines';
import { Loading, ProblemBox } from '../components/states';
import { UsageView } from '../components/usage-view';
import { hours, localDate, money, percent, periodName } from '../format';
import { useAsync } from '../hooks/use-async';
import { href } from '../router';
import type { Session } from '../session';

/** One invoice: its lines, what each resource used, the daily usage behind it, downloads. */
export function Invoice({ session, period }: { session: Session; period: string }) {
  const path = { id: session.tenantId, period };
  const [invoice, reload] = useAsync(
    () =>
      call(
        api.GET('/v1/tenants/{id}/invoices/{period}', {
          params: { path, query: { format: 'json' } },
        }),
      ),
    [session.tenantId, period],
  );
  const [usage] = useAsync(async () => {
    if (invoice.state !== 'ok') return null;
    const inv = invoice.data;
    return call(
      api.GET('/v1/tenants/{id}/usage', {
        params: {
          path: { id: session.tenantId },
          query: { from: inv.periodStart, to: inv.periodEnd, granularity: 'day', by: 'resource' },
        },
      }),
    );
  }, [invoice]);

  const download = (format: 'pdf' | 'csv' | 'json') =>
    apiUrl(`/v1/tenants/${encodeURIComponent(session.tenantId)}/invoices/${period}`, { format });

  return (
    <>
      <p class="crumbs">
        <a href={href({ page: 'invoices' })}>← All invoices</a>
      </p>
      <h1 tabIndex={-1}>Invoice {periodName(period)}</h1>
      {invoice.state === 'loading' ? <Loading what="the invoice" /> : null}
      {invoice.state === 'error' ? <ProblemBox problem={invoice.problem} retry={reload} /> : null}
      {invoice.state === 'ok' ? (
        <>
          <dl class="facts">
            <div>
              <dt>Status</dt>
              <dd>
                <span class={`badge ${invoice.data.status}`}>{invoice.data.status}</span>
                {invoice.data.status === 'draft' ? ' — figures move until the month closes' : ''}
              </dd>
            </div>
            <div>
              <dt>Number</dt>
              <dd>{invoice.data.number ?? 'given at the close'}</dd>
            </div>
            <div>
              <dt>Period ({invoice.data.timeZone})</dt>
              <dd>
                {localDate(invoice.data.periodStart, invoice.data.timeZone)} to{' '}
                {localDate(invoice.data.periodEnd, invoice.data.timeZone)} (exclusive)
              </dd>
            </div>
            <div>
              <dt>Total</dt>
              <dd class="amount" data-testid="invoice-total">
                {money(invoice.data.total, invoice.data.currency)}
              </dd>
            </div>
            {invoice.data.gross === undefined ? null : (
              <div>
                <dt>With tax</dt>
                <dd>{money(invoice.data.gross, invoice.data.currency)}</dd>
              </div>
            )}
            <div>
              <dt>Completeness</dt>
              <dd>{percent(invoice.data.completeness.ratio)} of the month observed</dd>
            </div>
          </dl>
          <p class="downloads">
            Download as the API serves it:{' '}
            <a href={download('pdf')} download={`invoice-${period}.pdf`}>
              PDF
            </a>{' '}
            ·{' '}
            <a href={download('csv')} download={`invoice-${period}.csv`}>
              CSV
            </a>{' '}
            ·{' '}
            <a href={download('json')} download={`invoice-${period}.json`}>
              JSON
            </a>
          </p>
          <h2>Lines</h2>
          <InvoiceLines
            lines={invoice.data.lines}
            currency={invoice.data.currency}
            label="Invoice lines"
            total={invoice.data.total}
            totalLabel="Total"
            withUnitPrice
          />
          <h2>By resource</h2>
          {invoice.data.resources.length === 0 ? (
            <p>No resource used anything in this period.</p>
          ) : (
            <div class="table-scroll" tabIndex={0} role="region" aria-label="Usage by resource">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Resource</th>
                    <th scope="col">Kind</th>
                    <th scope="col" class="num">
                      CPU core-hours
                    </th>
                    <th scope="col" class="num">
                      Memory GiB-hours
                    </th>
                    <th scope="col" class="num">
                      Share of the amount
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {invoice.data.resources.map((r) => (
                    <tr key={r.resourceId}>
                      <td title={r.resourceId}>{r.resourceName ?? r.resourceId}</td>
                      <td>{r.resourceKind}</td>
                      <td class="num">{hours(r.cpu.quantitySeconds)}</td>
                      <td class="num">{hours(r.memory.quantitySeconds)}</td>
                      <td class="num">{money(r.amount, invoice.data.currency)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <h2>Daily usage behind this invoice</h2>
          <p class="hint">Days in {invoice.data.timeZone}, the tenant’s billing time zone.</p>
          {usage.state === 'loading' ? <Loading what="the daily usage" /> : null}
          {usage.state === 'error' ? <ProblemBox problem={usage.problem} /> : null}
          {usage.state === 'ok' && usage.data !== null ? (
            <UsageView usage={usage.data} fileName={`usage-${period}-daily.csv`} />
          ) : null}
        </>
      ) : null}
    </>
  );
}
