import { useMemo, useState } from 'preact/hooks';
import type { components } from '../api/billing-api';
import {
  type Sort,
  type SortKey,
  chartData,
  filterRows,
  rowsCsv,
  sortRows,
  usageRows,
} from '../usage-rows';
import { Empty } from './states';
import { UsageChart, colours } from './usage-chart';

type UsageResponse = components['schemas']['UsageResponseDto'];

const COLUMNS: readonly { key: SortKey; label: string; numeric?: boolean }[] = [
  { key: 'time', label: 'Start' },
  { key: 'name', label: 'Resource' },
  { key: 'kind', label: 'Kind' },
  { key: 'host', label: 'Host' },
  { key: 'cpu', label: 'CPU core-hours', numeric: true },
  { key: 'gib', label: 'Memory GiB-hours', numeric: true },
  { key: 'complete', label: 'Complete', numeric: true },
];

/** Saves text as a file the browser downloads (made here: no request). */
function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Stacked charts of both meters by resource, and the table beneath: filter, sort, CSV. */
export function UsageView({ usage, fileName }: { usage: UsageResponse; fileName: string }) {
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState<Sort>({ key: 'time', descending: false });
  const rows = useMemo(() => usageRows(usage), [usage]);
  const shown = useMemo(() => sortRows(filterRows(rows, filter), sort), [rows, filter, sort]);
  const cpu = useMemo(() => chartData(shown, 'cpu'), [shown]);
  const gib = useMemo(() => chartData(shown, 'gib'), [shown]);
  // A resource keeps its colour in both charts, whatever the filter: by name over all rows.
  const colourOf = useMemo(
    () =>
      colours(
        [...new Map(rows.map((r) => [r.resourceId, r.name])).entries()]
          .sort((a, b) => a[1].localeCompare(b[1]))
          .map(([id]) => id),
      ),
    [rows],
  );
  const bucketSeconds = usage.granularity === 'day' ? 86_400 : 3_600;
  const unit = usage.granularity === 'day' ? 'day' : 'hour';

  if (rows.length === 0) {
    return (
      <Empty>
        <p>No usage in this range.</p>
        <p>
          Usage appears once your containers or VMs have run and been rated (a few seconds after
          they report). Choose an earlier range, or check that your resources carry your tenant id.
        </p>
      </Empty>
    );
  }

  const sortBy = (key: SortKey): void =>
    setSort((s) => ({
      key,
      descending: s.key === key ? !s.descending : key === 'cpu' || key === 'gib',
    }));

  return (
    <div class="usage-view">
      <div class="charts">
        <UsageChart
          data={cpu}
          unit={`core-hours per ${unit}`}
          title="CPU core-hours"
          timeZone={usage.timeZone}
          bucketSeconds={bucketSeconds}
          colourOf={colourOf}
        />
        <UsageChart
          data={gib}
          unit={`GiB-hours per ${unit}`}
          title="Memory GiB-hours"
          timeZone={usage.timeZone}
          bucketSeconds={bucketSeconds}
          colourOf={colourOf}
        />
      </div>
      <div class="table-tools">
        <label>
          Filter by resource, kind or host
          <input
            type="search"
            value={filter}
            onInput={(e) => setFilter(e.currentTarget.value)}
            placeholder="e.g. web or vm"
          />
        </label>
        <button
          type="button"
          onClick={() => download(fileName, rowsCsv(shown, usage.timeZone), 'text/csv')}
          disabled={shown.length === 0}
        >
          Download CSV ({shown.length} rows)
        </button>
      </div>
      <p class="hint" aria-live="polite">
        {shown.length === rows.length
          ? `${rows.length} rows`
          : `${shown.length} of ${rows.length} rows match “${filter}”`}
        ; times are bucket starts in {usage.timeZone}.
      </p>
      <div class="table-scroll" tabIndex={0} role="region" aria-label="Usage table">
        <table class="usage-table">
          <caption class="visually-hidden">
            Usage by resource per {unit}, times in {usage.timeZone}
          </caption>
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th
                  key={c.key}
                  scope="col"
                  class={c.numeric === true ? 'num' : undefined}
                  aria-sort={
                    sort.key === c.key ? (sort.descending ? 'descending' : 'ascending') : 'none'
                  }
                >
                  <button type="button" class="sort" onClick={() => sortBy(c.key)}>
                    {c.label}
                    <span aria-hidden="true">
                      {sort.key === c.key ? (sort.descending ? ' ▼' : ' ▲') : ''}
                    </span>
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <tr key={`${r.start}/${r.resourceId}`}>
                <td>{r.time}</td>
                <td title={r.resourceId}>{r.name}</td>
                <td>{r.kind}</td>
                <td>{r.host}</td>
                <td class="num">{r.cpuHours}</td>
                <td class="num">{r.gibHours}</td>
                <td class="num">{r.complete}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
