import { printable } from './cli-command';
import { type DlqRecord, type Replayability } from './dlq-record';

/** What `dlq list` shows of one record (a JSON line with --json). */
export interface DlqRecordView {
  readonly type: 'record';
  readonly dlq: { topic: string; partition: number; offset: string };
  readonly failedAt: string;
  readonly reason: { code: string; message: string; path: string | null };
  readonly original: { topic: string; partition: number; offset: string };
  readonly tenant: string | null;
  readonly resourceId: string | null;
  readonly replayable: boolean;
  /** Why not, when not replayable. */
  readonly notReplayable: string | null;
  /** When it was replayed already (ISO), or null. */
  readonly replayedAt: string | null;
}

export function viewOf(
  dlqTopic: string,
  record: DlqRecord,
  replayability: Replayability,
  replayedAt: Date | undefined,
): DlqRecordView {
  const { reason, original } = record.event;
  return {
    type: 'record',
    dlq: { topic: dlqTopic, partition: record.dlqPartition, offset: record.dlqOffset },
    failedAt: record.event.failedAt,
    reason: { code: reason.code, message: reason.message, path: reason.path },
    original: { topic: original.topic, partition: original.partition, offset: original.offset },
    tenant: record.tenant,
    resourceId: record.resourceId,
    replayable: replayability.replayable,
    notReplayable: replayability.replayable ? null : replayability.why,
    replayedAt: replayedAt?.toISOString() ?? null,
  };
}

/** Per reason code: records selected, replayable (not replayed yet), already replayed, not replayable. */
export interface ReasonCounts {
  selected: number;
  replayable: number;
  replayed: number;
  notReplayable: number;
}

export function countByReason(views: readonly DlqRecordView[]): Record<string, ReasonCounts> {
  const counts = new Map<string, ReasonCounts>();
  for (const v of views) {
    const c = counts.get(v.reason.code) ?? {
      selected: 0,
      replayable: 0,
      replayed: 0,
      notReplayable: 0,
    };
    c.selected += 1;
    if (v.replayedAt !== null) c.replayed += 1;
    else if (v.replayable) c.replayable += 1;
    else c.notReplayable += 1;
    counts.set(v.reason.code, c);
  }
  return Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b)));
}

/** The table of `dlq list`. Every cell from a DLQ record is escaped: its bytes are anyone's. */
export function recordTable(views: readonly DlqRecordView[]): string {
  const rows = views.map((v) => [
    `${v.dlq.partition}/${v.dlq.offset}`,
    v.failedAt,
    printable(v.reason.code, 24),
    printable(`${v.original.topic}/${v.original.partition}/${v.original.offset}`, 48),
    printable(v.tenant ?? '-', 24),
    printable(v.resourceId ?? '-', 24),
    v.replayedAt !== null ? 'replayed' : v.replayable ? 'yes' : 'no',
    printable(
      v.replayable || v.replayedAt !== null ? v.reason.message : (v.notReplayable ?? ''),
      80,
    ),
  ]);
  return table(
    ['DLQ', 'FAILED AT', 'REASON', 'ORIGINAL', 'TENANT', 'RESOURCE', 'REPLAY', 'MESSAGE'],
    rows,
  );
}

export function reasonTable(counts: Record<string, ReasonCounts>): string {
  const rows = Object.entries(counts).map(([code, c]) => [
    printable(code, 24),
    String(c.selected),
    String(c.replayable),
    String(c.replayed),
    String(c.notReplayable),
  ]);
  return table(['REASON', 'SELECTED', 'REPLAYABLE', 'REPLAYED', 'NOT REPLAYABLE'], rows);
}

function table(header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
