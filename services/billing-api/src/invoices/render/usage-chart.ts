import { FONT, MUTED, RULE, short } from './pdf-layout';

/** Daily usage for the chart, in unit-hours. Numbers only place bars: amounts never pass here. */
export interface DailyUsagePoint {
  readonly day: string;
  readonly cpuHours: number;
  readonly memoryGibHours: number;
}

/** One bar per day, labelled every fifth day, scaled to the period's largest value. */
export function barChart(
  doc: PDFKit.PDFDocument,
  x: number,
  y: number,
  width: number,
  height: number,
  title: string,
  values: readonly number[],
  color: string,
  days: readonly DailyUsagePoint[],
): void {
  const max = Math.max(0, ...values);
  doc
    .font(FONT)
    .fontSize(8)
    .fillColor(MUTED)
    .text(`${title} (max ${short(max.toFixed(3))})`, x, y, { width });
  const plotTop = y + 14;
  const plotHeight = height - 14;
  doc
    .moveTo(x, plotTop + plotHeight)
    .lineTo(x + width, plotTop + plotHeight)
    .lineWidth(0.6)
    .strokeColor(RULE)
    .stroke();
  const slot = width / Math.max(values.length, 1);
  values.forEach((v, i) => {
    const h = max === 0 ? 0 : (v / max) * (plotHeight - 4);
    if (h > 0)
      doc.rect(x + i * slot + slot * 0.15, plotTop + plotHeight - h, slot * 0.7, h).fill(color);
  });
  doc.font(FONT).fontSize(6.5).fillColor(MUTED);
  days.forEach((d, i) => {
    const dayOfMonth = Number(d.day.slice(8, 10));
    if (i === 0 || dayOfMonth % 5 === 0) {
      doc.text(String(dayOfMonth), x + i * slot - 4, plotTop + plotHeight + 3, {
        width: slot + 8,
        align: 'center',
        lineBreak: false,
      });
    }
  });
}
