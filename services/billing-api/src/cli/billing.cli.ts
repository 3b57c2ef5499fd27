import 'reflect-metadata';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { NestFactory } from '@nestjs/core';
import { SingleBar, Presets } from 'cli-progress';
import { createRootLogger } from '@metering/observability';
import { AppModule } from '../app.module';
import { BillingError } from '../common/billing.errors';
import { isSupportedPeriod, PERIOD_MESSAGE } from '../common/validators';
import { loadBillingConfig } from '../config';
import { InvoiceExportService } from '../invoices/invoice-export.service';
import { PeriodCloseService } from '../invoices/period-close.service';

const USAGE = `usage:
  npm run billing -- close <YYYY-MM>
  npm run billing -- export <YYYY-MM> [--format csv|jsonl] [--out FILE]   (default: stdout)`;

/** The operator's command line: close a month, export a month. Progress on stderr. */
async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string', default: 'csv' },
      out: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  const [command, period] = positionals;
  if (values.help === true || command === undefined) {
    console.error(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (!isSupportedPeriod(period)) {
    console.error(`billing: period ${PERIOD_MESSAGE}\n${USAGE}`);
    return 2;
  }
  const format = values.format;
  if (format !== 'csv' && format !== 'jsonl') {
    console.error(`billing: --format must be csv or jsonl\n${USAGE}`);
    return 2;
  }
  if (command !== 'close' && command !== 'export') {
    console.error(`billing: unknown command ${command}\n${USAGE}`);
    return 2;
  }

  const loaded = loadBillingConfig(undefined, { needsAdminKey: false });
  // A one-off command: the server's periodic gauges would only cost queries here, and its
  // background work (event relay, webhook deliveries, scheduled close) is the server's.
  const config = {
    ...loaded,
    unbilled: { ...loaded.unbilled, refreshMs: 0 },
    automation: { ...loaded.automation, background: false },
  };
  const logger = createRootLogger({ serviceName: 'billing-cli', level: 'warn' });
  if (config.testClockStartMs !== null) {
    console.error(
      `billing: TEST CLOCK: time starts at ${new Date(config.testClockStartMs).toISOString()} (TEST_CLOCK_START); never for real billing`,
    );
  }
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config, logger), {
    logger: false,
  });
  const bar = new SingleBar(
    {
      format: ' {bar} {percentage}% | {value}/{total} tenants | {duration_formatted}',
      stream: process.stderr,
    },
    Presets.shades_classic,
  );
  try {
    if (command === 'close') {
      const closer = app.get(PeriodCloseService);
      let started = false;
      const result = await closer.close(period, (done, total) => {
        if (!started) {
          bar.start(total, 0);
          started = true;
        }
        bar.update(done);
      });
      bar.stop();
      console.log(JSON.stringify(result));
      return 0;
    }
    const exporter = app.get(InvoiceExportService);
    const out = values.out === undefined ? process.stdout : createWriteStream(resolve(values.out));
    bar.start(await exporter.count(), 0);
    let done = 0;
    for await (const chunk of exporter.chunks(period, format, (n) => bar.update((done += n)))) {
      if (!out.write(chunk)) await once(out, 'drain');
    }
    bar.stop();
    if (out !== process.stdout) {
      out.end();
      await once(out, 'finish');
      console.error(`wrote ${done} invoices to ${resolve(values.out ?? '')}`);
    }
    return 0;
  } catch (error) {
    bar.stop();
    if (error instanceof BillingError) {
      console.error(`billing: ${error.code}: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    await app.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`billing: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
