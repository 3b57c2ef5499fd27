import { type Command } from 'commander';
import type { ScheduleStatus } from '../schedule/schedule-status.service';
import { printable } from './cli-args';
import { type CliRuntime } from './cli-runtime';

function duration(ms: number): string {
  if (ms % 86_400_000 === 0 && ms > 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}

const PHASE = {
  due: 'due now: the next run closes it',
  'in-grace': 'ended, in its grace: closes from',
  open: 'not ended yet: closes from',
} as const;

export function scheduleLines(s: ScheduleStatus): string[] {
  const lines = [
    `scheduled close: ${s.enabled ? 'on' : 'off'} in this environment (SCHEDULED_CLOSE), every ${duration(s.intervalMs)}`,
    `grace: ${duration(s.graceMs)} after a month ends in the last tenant zone; looks back ${s.lookbackMonths} months${s.fromPeriod === null ? '' : `, none before ${s.fromPeriod}`}`,
  ];
  if (s.next === null) lines.push('next: none (SCHEDULED_CLOSE_FROM is after this month)');
  else if (s.next.phase === 'due')
    lines.push(`next: ${s.next.period}, ${PHASE.due} (closable since ${s.next.closableFrom})`);
  else lines.push(`next: ${s.next.period}, ${PHASE[s.next.phase]} ${s.next.closableFrom}`);
  const r = s.lastRun;
  if (r === null) {
    lines.push('last run: none recorded');
  } else {
    const by = `${r.startedBy === 'cli' ? 'the CLI' : 'the schedule'} on ${printable(r.instance)}`;
    const when = r.finishedAt === null ? `started ${r.startedAt}` : `finished ${r.finishedAt}`;
    lines.push(`last run: ${r.period} ${r.status}, ${when}, by ${by} (attempt ${r.attempts})`);
    if (r.result !== null && r.status === 'succeeded') {
      lines.push(
        `  ${r.result.finalized} invoices finalized, ${r.result.alreadyFinal} already final`,
      );
    }
    if (r.error !== null) lines.push(`  error: ${printable(r.error)}`);
  }
  return lines;
}

/** `schedule`: the scheduled close's settings, the next month it closes, its last run. */
export function registerScheduleCommand(program: Command, rt: CliRuntime): void {
  program
    .command('schedule')
    .summary('the scheduled close: on or off, grace, cadence, the next month, the last run')
    .description(
      'The scheduled close: whether it is on (SCHEDULED_CLOSE as this environment has it), its ' +
        'cadence and grace, the next month it will close and from when, and the last close of any ' +
        'month (by the schedule or the CLI): when, where, its outcome and error.',
    )
    .option('--json', 'print the status as one JSON document on stdout')
    .addHelpText('after', '\nExample:\n  npm run billing -- schedule --json')
    .action(async (opts: { json?: boolean }) => {
      const service = await rt.get(
        async () => (await import('../schedule/schedule-status.service.js')).ScheduleStatusService,
      );
      const status = await service.status();
      if (opts.json === true) rt.json(status);
      else rt.text(scheduleLines(status));
    });
}
