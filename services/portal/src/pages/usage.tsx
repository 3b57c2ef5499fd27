import { useState } from 'preact/hooks';
import { api, call } from '../api/client';
import { Loading, ProblemBox } from '../components/states';
import { UsageView } from '../components/usage-view';
import { addDays, startOfLocalDay, today } from '../format';
import { useAsync } from '../hooks/use-async';
import type { Session } from '../session';

type Granularity = 'hour' | 'day';
type Basis = 'usage' | 'allocation' | 'max';
interface Query {
  readonly from: string;
  readonly to: string;
  readonly granularity: Granularity;
  readonly basis: Basis;
}

const MAX_DAYS: Record<Granularity, number> = { hour: 92, day: 366 };

function days(from: string, to: string): number {
  return (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000 + 1;
}

/** Usage over a chosen range of local days, by hour or day, stacked by resource. */
export function Usage({ session }: { session: Session }) {
  const tz = session.timeZone;
  const initial: Query = {
    from: `${today(tz).slice(0, 8)}01`,
    to: today(tz),
    granularity: 'day',
    basis: 'usage',
  };
  const [form, setForm] = useState<Query>(initial);
  const [query, setQuery] = useState<Query>(initial);
  const [formError, setFormError] = useState<string | null>(null);
  const [usage, reload] = useAsync(
    () =>
      call(
        api.GET('/v1/tenants/{id}/usage', {
          params: {
            path: { id: session.tenantId },
            query: {
              from: startOfLocalDay(query.from, tz).toISOString(),
              to: startOfLocalDay(addDays(query.to, 1), tz).toISOString(),
              granularity: query.granularity,
              by: 'resource',
              basis: query.basis,
            },
          },
        }),
      ),
    [session.tenantId, query],
  );

  const submit = (e: Event): void => {
    e.preventDefault();
    if (!/^\d{4}-\d{2}-\d{2}$/.test(form.from) || !/^\d{4}-\d{2}-\d{2}$/.test(form.to)) {
      setFormError('Enter both dates.');
      return;
    }
    const n = days(form.from, form.to);
    if (n < 1) {
      setFormError('“To” must be on or after “From”.');
      return;
    }
    if (n > MAX_DAYS[form.granularity]) {
      setFormError(
        `By ${form.granularity}, a range can be at most ${MAX_DAYS[form.granularity]} days: shorten it${form.granularity === 'hour' ? ' or choose “by day”' : ''}.`,
      );
      return;
    }
    setFormError(null);
    setQuery(form);
  };

  return (
    <>
      <h1 tabIndex={-1}>Usage</h1>
      <p>
        CPU core-hours and memory GiB-hours per resource. Times and days are in{' '}
        <strong data-testid="time-zone">{tz}</strong>, your billing time zone.
      </p>
      <form class="range" onSubmit={submit} aria-describedby="range-error">
        <label>
          From
          <input
            type="date"
            value={form.from}
            onInput={(e) => setForm({ ...form, from: e.currentTarget.value })}
            required
          />
        </label>
        <label>
          To (inclusive)
          <input
            type="date"
            value={form.to}
            onInput={(e) => setForm({ ...form, to: e.currentTarget.value })}
            required
          />
        </label>
        <label>
          Per
          <select
            value={form.granularity}
            onChange={(e) =>
              setForm({ ...form, granularity: e.currentTarget.value as Granularity })
            }
          >
            <option value="hour">hour</option>
            <option value="day">day</option>
          </select>
        </label>
        <label>
          Measure
          <select
            value={form.basis}
            onChange={(e) => setForm({ ...form, basis: e.currentTarget.value as Basis })}
          >
            <option value="usage">what was used</option>
            <option value="allocation">what was allocated</option>
            <option value="max">the larger of the two</option>
          </select>
        </label>
        <button type="submit">Show</button>
      </form>
      <p id="range-error" class="error" role="alert">
        {formError ?? ''}
      </p>
      {usage.state === 'loading' ? <Loading what="usage" /> : null}
      {usage.state === 'error' ? <ProblemBox problem={usage.problem} retry={reload} /> : null}
      {usage.state === 'ok' ? (
        <UsageView
          usage={usage.data}
          fileName={`usage-${query.from}-${query.to}-${query.granularity}.csv`}
        />
      ) : null}
    </>
  );
}
