import { useState } from 'preact/hooks';
import { api, call } from '../api/client';
import type { components } from '../api/billing-api';
import { ApiProblem } from '../api/problem';
import { localDateTime, money } from '../format';
import type { Session } from '../session';
import { ProblemBox } from './states';

type Threshold = components['schemas']['TenantOverviewDto']['budgetThresholds'][number];

/**
 * The tenant's monthly budget thresholds: whether this month reached each, who set it, and (not
 * in a read-only session) adding and removing them. Crossing one sends the tenant's and the
 * provider's `budget.threshold_reached` webhooks once a month.
 */
export function BudgetThresholds({
  session,
  thresholds,
  changed,
}: {
  session: Session;
  thresholds: readonly Threshold[];
  changed: () => void;
}) {
  const [amount, setAmount] = useState('');
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const tz = session.timeZone;
  const cur = session.currency;

  const act = async (what: () => Promise<unknown>): Promise<void> => {
    setBusy(true);
    setProblem(null);
    try {
      await what();
      changed();
    } catch (error) {
      setProblem(error instanceof ApiProblem ? error : ApiProblem.network(error));
    } finally {
      setBusy(false);
    }
  };

  const add = (event: Event) => {
    event.preventDefault();
    void act(async () => {
      await call(
        api.POST('/v1/tenants/{id}/budget-thresholds', {
          params: { path: { id: session.tenantId } },
          body: { amount: amount.trim() },
        }),
      );
      setAmount('');
    });
  };

  const remove = (thresholdId: string) =>
    void act(() =>
      call(
        api.DELETE('/v1/tenants/{id}/budget-thresholds/{thresholdId}', {
          params: { path: { id: session.tenantId, thresholdId } },
        }),
      ),
    );

  return (
    <section aria-labelledby="budgets-h">
      <h2 id="budgets-h">Budget thresholds</h2>
      <p>
        When this month’s invoice (before tax) reaches a threshold, you and your provider are told
        once (webhook <code>budget.threshold_reached</code>), within about a minute of the usage
        being rated.
      </p>
      {thresholds.length === 0 ? (
        <p data-testid="no-budgets">No budget thresholds are set.</p>
      ) : (
        <div class="table-scroll" tabIndex={0} role="region" aria-label="Budget thresholds">
          <table data-testid="budgets">
            <thead>
              <tr>
                <th scope="col">Monthly amount</th>
                <th scope="col">This month</th>
                <th scope="col">Set by</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {thresholds.map((t) => (
                <tr key={t.id}>
                  <td class="num">{money(t.amount, t.currency)}</td>
                  <td>
                    {t.reachedAt === null
                      ? 'not reached'
                      : `reached ${localDateTime(t.reachedAt, tz)} (${tz})`}
                  </td>
                  <td>{t.createdBy === 'tenant' ? 'you' : 'your provider'}</td>
                  <td>
                    {session.readOnly ? null : (
                      <button
                        type="button"
                        onClick={() => remove(t.id)}
                        disabled={busy}
                        aria-label={`Remove the threshold of ${money(t.amount, t.currency)}`}
                      >
                        Remove
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {session.readOnly ? null : (
        <form class="inline-form" onSubmit={add}>
          <label>
            New threshold ({cur})
            <input
              type="text"
              inputMode="decimal"
              name="amount"
              value={amount}
              required
              maxLength={32}
              placeholder="e.g. 250.00"
              onInput={(e) => setAmount(e.currentTarget.value)}
            />
          </label>{' '}
          <button type="submit" disabled={busy || amount.trim() === ''}>
            Add threshold
          </button>
        </form>
      )}
      {problem === null ? null : <ProblemBox problem={problem} />}
    </section>
  );
}
