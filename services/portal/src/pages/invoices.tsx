import { useState } from 'preact/hooks';
import { api, call } from '../api/client';
import type { components } from '../api/billing-api';
import { Empty, Loading, ProblemBox } from '../components/states';
import { money, periodName } from '../format';
import { useAsync } from '../hooks/use-async';
import { href } from '../router';
import type { Session } from '../session';

type InvoiceSummary = components['schemas']['InvoiceSummaryDto'];

/** Every month's invoice in the API's order; a draft is live until its month closes. */
export function Invoices({ session }: { session: Session }) {
  const [more, setMore] = useState<InvoiceSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [page] = useAsync(async () => {
    const data = await call(
      api.GET('/v1/tenants/{id}/invoices', {
        params: { path: { id: session.tenantId }, query: { limit: 24 } },
      }),
    );
    setMore([]);
    setCursor(data.nextCursor ?? null);
    return data;
  }, [session.tenantId]);
  const [loadingMore, setLoadingMore] = useState(false);

  const loadMore = async (): Promise<void> => {
    if (cursor === null) return;
    setLoadingMore(true);
    try {
      const data = await call(
        api.GET('/v1/tenants/{id}/invoices', {
          params: { path: { id: session.tenantId }, query: { limit: 24, cursor } },
        }),
      );
      setMore((m) => [...m, ...data.data]);
      setCursor(data.nextCursor ?? null);
    } finally {
      setLoadingMore(false);
    }
  };

  return (
    <>
      <h1 tabIndex={-1}>Invoices</h1>
      <p>
        One invoice per month. The current month is a <strong>draft</strong>: its figures move until
        the month is closed, then it becomes <strong>final</strong> with a number.
      </p>
      {page.state === 'loading' ? <Loading what="invoices" /> : null}
      {page.state === 'error' ? <ProblemBox problem={page.problem} /> : null}
      {page.state === 'ok' && page.data.data.length === 0 ? (
        <Empty>
          <p>No invoices yet: the first appears in the month your tenant was registered.</p>
        </Empty>
      ) : null}
      {page.state === 'ok' && page.data.data.length > 0 ? (
        <div class="table-scroll" tabIndex={0} role="region" aria-label="Invoices">
          <table>
            <thead>
              <tr>
                <th scope="col">Period</th>
                <th scope="col">Status</th>
                <th scope="col">Number</th>
                <th scope="col" class="num">
                  Total
                </th>
              </tr>
            </thead>
            <tbody>
              {[...page.data.data, ...more].map((inv) => (
                <tr key={inv.period}>
                  <td>
                    <a href={href({ page: 'invoice', period: inv.period })}>
                      {periodName(inv.period)}
                    </a>
                  </td>
                  <td>
                    <span class={`badge ${inv.status}`}>{inv.status}</span>
                  </td>
                  <td>{inv.number ?? '—'}</td>
                  <td class="num">
                    {inv.total === null ? 'open the draft' : money(inv.total, inv.currency)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {cursor === null ? null : (
        <button type="button" onClick={() => void loadMore()} disabled={loadingMore}>
          {loadingMore ? 'Loading…' : 'Show older invoices'}
        </button>
      )}
    </>
  );
}
