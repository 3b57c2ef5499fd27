import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { type Command } from 'commander';
import type { CloseResult } from '../invoices/period-close.service';
import type { ScheduledRunReport } from '../schedule/scheduled-close.service';
import { EXIT, named, parseFormat, parseOutFile, parsePeriod } from './cli-args';
import { cliInstance, type CliRuntime } from './cli-runtime';
import { progressReporter, type ProgressReporter } from './progress.reporter';

const JSON_HELP = 'print the result as one JSON document on stdout';

function closedLine(r: CloseResult): string {
  return `closed ${r.period}: ${r.finalized} invoices finalized, ${r.alreadyFinal} already final, ${r.tenants} tenants`;
}

/** `close`, `close-due` and `export`: the month's invoices. */
export function registerInvoiceCommands(program: Command, rt: CliRuntime): void {
  program
    .command('close')
    .summary('close a month: every invoice final, numbered gap-free, invoice.finalized sent')
    .description(
      'Close a month (the same close as POST /v1/periods/:period/close and the schedule): every ' +
        "tenant's invoice becomes final, numbered gap-free. Safe to repeat. Recorded as the " +
        "schedule's last run (`billing schedule`). Progress on stderr.",
    )
    .argument('<period>', 'the month, YYYY-MM', named('period', parsePeriod))
    .option('--json', JSON_HELP)
    .addHelpText('after', '\nExample:\n  npm run billing -- close 2026-11 --json')
    .action(async (period: string, opts: { json?: boolean }) => {
      const closer = await rt.get(
        async () => (await import('../schedule/recorded-close.service.js')).RecordedCloseService,
      );
      const progress = progressReporter(rt.io.err, `close ${period}`, 'tenants');
      let result: CloseResult;
      try {
        result = await closer.close(
          period,
          { startedBy: 'cli', instance: cliInstance() },
          (done, total) => progress.update(done, total),
        );
      } finally {
        progress.stop();
      }
      if (opts.json === true) rt.json(result);
      else rt.text([closedLine(result)]);
    });

  program
    .command('close-due')
    .summary('one run of the scheduled close: every due month (what the CronJob runs)')
    .description(
      'One run of the scheduled close, then exit: closes each month in the lookback whose grace ' +
        'has passed, as billing-api does by itself (SCHEDULED_CLOSE=on). Exit 0 also when another ' +
        "instance holds the schedule's lock (nothing done); 1 when a month failed to close.",
    )
    .option('--json', JSON_HELP)
    .addHelpText('after', '\nExample:\n  node dist/src/cli/billing.cli.js close-due --json')
    .action(async (opts: { json?: boolean }) => {
      const schedule = await rt.get(
        async () => (await import('../schedule/scheduled-close.service.js')).ScheduledCloseService,
      );
      const bars = new Map<string, ProgressReporter>();
      let report: ScheduledRunReport;
      try {
        report = await schedule.runOnce((period, done, total) => {
          let bar = bars.get(period);
          if (bar === undefined) {
            bar = progressReporter(rt.io.err, `close ${period}`, 'tenants');
            bars.set(period, bar);
          }
          bar.update(done, total);
        });
      } finally {
        for (const bar of bars.values()) bar.stop();
      }
      if (Object.keys(report.failed).length > 0) rt.exitCode = EXIT.failure;
      if (opts.json === true) return rt.json(report);
      if (!report.ran) return rt.text(["another instance holds the schedule's lock: nothing done"]);
      rt.text([
        ...Object.entries(report.drafted).map(([p, n]) => `drafted ${p}: ${n} invoice.drafted`),
        ...Object.values(report.closed).map(closedLine),
        ...Object.entries(report.failed).map(([p, e]) => `failed ${p}: ${e}`),
      ]);
      if (Object.keys(report.closed).length + Object.keys(report.failed).length === 0) {
        rt.text(['nothing due']);
      }
    });

  program
    .command('export')
    .summary("export a month's invoices (final, else draft) as CSV or JSON lines")
    .description(
      "Export a month's invoices, final where closed and draft otherwise: the data on stdout or in " +
        '--out FILE. Progress on stderr. The data is the output; with --out, --json prints a summary.',
    )
    .argument('<period>', 'the month, YYYY-MM', named('period', parsePeriod))
    .option('--format <format>', 'csv (default) or jsonl', named('--format', parseFormat))
    .option('--out <file>', 'write to this file instead of stdout', named('--out', parseOutFile))
    .option('--json', 'with --out: a JSON summary {period, format, invoices, out} on stdout')
    .addHelpText(
      'after',
      '\nExamples:\n  npm run billing -- export 2026-11 > november.csv\n' +
        '  npm run billing -- export 2026-11 --format jsonl --out november.jsonl --json',
    )
    .action(
      async (period: string, opts: { format?: 'csv' | 'jsonl'; out?: string; json?: boolean }) => {
        const format = opts.format ?? 'csv';
        const exporter = await rt.get(
          async () => (await import('../invoices/invoice-export.service.js')).InvoiceExportService,
        );
        const path = opts.out === undefined ? undefined : resolve(opts.out);
        const out = path === undefined ? process.stdout : createWriteStream(path);
        const total = await exporter.count();
        const progress = progressReporter(rt.io.err, `export ${period}`, 'invoices');
        let done = 0;
        try {
          progress.update(0, total);
          for await (const chunk of exporter.chunks(period, format, (n) =>
            progress.update((done += n), Math.max(total, done)),
          )) {
            if (!out.write(chunk)) await once(out, 'drain');
          }
        } finally {
          progress.stop();
        }
        if (path === undefined || out === process.stdout) return;
        out.end();
        await once(out, 'finish');
        if (opts.json === true) rt.json({ period, format, invoices: done, out: path });
        else rt.io.err.write(`wrote ${done} invoices to ${path}\n`);
      },
    );
}
