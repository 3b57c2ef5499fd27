import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { localDate } from '../format';
import type { ChartData } from '../usage-rows';

/** Series colours: distinct, each at least 3:1 against white (WCAG 1.4.11). */
export const PALETTE = [
  '#0b5cad',
  '#b3541e',
  '#2e7d32',
  '#8e24aa',
  '#c62828',
  '#00796b',
  '#5d4037',
  '#37474f',
  '#ad1457',
];

/** A colour per resource id, the same in every chart of the page ('' = the others: grey). */
export function colours(keys: readonly string[]): Map<string, string> {
  const map = new Map<string, string>([['', '#6b6b6b']]);
  keys.forEach((k, i) => map.set(k, PALETTE[i % PALETTE.length] ?? '#000000'));
  return map;
}

/**
 * A stacked bar chart (uPlot) of one meter per bucket and resource. uPlot does not stack:
 * each series is drawn as the running sum up to it, the tallest first, so the lower ones
 * cover it. The table beneath gives every figure to screen readers.
 */
export function UsageChart({
  data,
  unit,
  title,
  timeZone,
  bucketSeconds,
  colourOf,
}: {
  data: ChartData;
  unit: string;
  title: string;
  timeZone: string;
  bucketSeconds: number;
  colourOf: Map<string, string>;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (el === null || data.times.length === 0) return;
    const sums: number[][] = [];
    let running = data.times.map(() => 0);
    for (const s of data.series) {
      running = running.map((v, i) => v + (s.values[i] ?? 0));
      sums.push(running);
    }
    const order = data.series.map((_, i) => i).reverse();
    const color = (i: number): string => colourOf.get(data.series[i]?.key ?? '') ?? '#000000';
    const first = data.times[0] ?? 0;
    const last = data.times[data.times.length - 1] ?? first;
    const daily = bucketSeconds >= 86_400;
    const width = Math.max(280, el.clientWidth);
    const bars = uPlot.paths.bars?.({ size: [0.8, 48] });
    const chart = new uPlot(
      {
        width,
        height: 240,
        legend: { show: false },
        cursor: { show: false },
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), timeZone),
        scales: {
          // Half a bucket either side, so the first and last bars are whole.
          x: { time: true, range: () => [first - bucketSeconds / 2, last + bucketSeconds / 2] },
          y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] },
        },
        axes: [
          {
            stroke: '#333333',
            grid: { stroke: '#e3e3e3' },
            // Days on a daily chart: no hour ticks between the bars.
            ...(daily
              ? {
                  incrs: [86_400, 2 * 86_400, 7 * 86_400, 14 * 86_400, 28 * 86_400],
                  values: (_u: uPlot, splits: number[]) =>
                    splits.map((s) =>
                      localDate(new Date(s * 1000).toISOString(), timeZone).slice(5),
                    ),
                }
              : {}),
          },
          { stroke: '#333333', grid: { stroke: '#e3e3e3' }, label: unit, size: 60 },
        ],
        series: [
          {},
          ...order.map((i) => ({
            label: data.series[i]?.label ?? '',
            stroke: color(i),
            fill: color(i),
            width: 0,
            points: { show: false },
            ...(bars === undefined ? {} : { paths: bars }),
          })),
        ],
      },
      [data.times, ...order.map((i) => sums[i] ?? [])],
      el,
    );
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: Math.max(280, el.clientWidth), height: 240 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [data, unit, timeZone, bucketSeconds, colourOf]);

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div
        ref={box}
        class="chart-canvas"
        role="img"
        aria-label={`${title}: stacked bars per ${unit} and resource; the table below lists every figure`}
      />
      <ul class="legend" aria-label={`${title}: resources`}>
        {data.series.map((s) => (
          <li key={s.key}>
            <span
              class="swatch"
              style={{ background: colourOf.get(s.key) ?? '#000000' }}
              aria-hidden="true"
            />
            {s.label}
          </li>
        ))}
      </ul>
    </figure>
  );
}
