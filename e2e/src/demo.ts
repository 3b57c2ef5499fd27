import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { localInfra } from '@metering/testing';
import {
  CPU_TOLERANCE,
  MEMORY_TOLERANCE,
  invoiceSeconds,
  kernelVersusInvoice,
  percent,
  recomputedContentHash,
} from './acceptance-criteria';
import { AcceptanceScenario } from './acceptance.scenario';
import { GIB } from './scenario/scenario-tenants';
import { type ScenarioResult, type TenantOutcome } from './scenario/scenario.types';
import { floatClose } from './scenario/usage.observer';
import { type InvoiceJson, documentDisagreements } from './billing-documents';
import { e2eSettings } from './config';
import { expectedInvoice } from './plan-arithmetic';

const USAGE = `usage: npm run demo [-- --seconds N] [-- --exit]
  --seconds N   how long the workloads run (default: E2E_RUN_SECONDS or 120)
  --exit        stop the services at once instead of waiting for Enter (also without a terminal)`;

const HELD_MIB = 48;

/**
 * `npm run demo`: the acceptance scenario of e2e/ (the same module as the test), shown to a
 * person: progress, what the kernel and the invoices say, the invoices, the checks, and where to
 * look. The containers and the domain are always removed; the services, the ledger schema and the
 * InfluxDB database stay up until Enter (so the URLs printed can be opened), then go too.
 */
async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string' },
      exit: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  const settings = e2eSettings(
    values.seconds === undefined ? undefined : { ...process.env, E2E_RUN_SECONDS: values.seconds },
  );
  const started = Date.now();
  const say = (line: string) =>
    console.log(`[${String(Math.round((Date.now() - started) / 1000)).padStart(4)} s] ${line}`);
  const scenario = new AcceptanceScenario({
    runSeconds: settings.runSeconds,
    shortLivedAfterSeconds: 20,
    shortLivedSeconds: 4,
    heldMib: HELD_MIB,
    outDirOf: (name) => join(settings.stackDir, 'demo', name),
    draftEverySeconds: 20,
    onProgress: say,
  });
  const outDir = join(settings.stackDir, 'demo', scenario.name);
  mkdirSync(outDir, { recursive: true });

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= scenario.stop());
  process.once('SIGINT', () => {
    console.log('\ninterrupted: removing the containers, the domain and the services…');
    void stop().finally(() => process.exit(130));
  });

  console.log(
    `Metering demo: ${settings.runSeconds} s of real workload for two tenants, then invoices.\n` +
      `Progress is printed as it happens; service logs: ${rel(scenario.pipeline.logDir)}/${scenario.name}-*.log\n`,
  );
  let result: ScenarioResult;
  try {
    result = await scenario.run();
  } catch (error) {
    console.error(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}`);
    await stop().catch(() => undefined);
    return 1;
  }

  const failures = report(result);
  const keyFile = join(outDir, 'admin-api-key');
  writeFileSync(keyFile, `${scenario.pipeline.adminKey}\n`, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  whereToLook(scenario, result, keyFile);

  if (!values.exit && process.stdin.isTTY) {
    console.log('\nThe services stay up for a look. Press Enter to stop them (Ctrl-C works too).');
    await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
    process.stdin.pause();
  }
  say('stopping the services; dropping the topics, the ledger schema and the InfluxDB database');
  await stop();
  console.log(`Invoices kept in ${rel(outDir)}`);
  return failures === 0 ? 0 : 1;
}

function rel(path: string): string {
  return relative(process.cwd(), path) || '.';
}

/** Prints the usage, the invoices and the checks; returns how many checks failed. */
function report(r: ScenarioResult): number {
  const checks: [boolean, string][] = [];
  console.log('\nUSAGE — the kernel and libvirt (read by the demo itself) against the invoices');
  console.log(row(['tenant', 'meter', 'kernel / libvirt', 'invoice', 'deviation', 'limit']));
  for (const t of [r.tenants.a, r.tenants.b]) {
    const { cpu, memory } = kernelVersusInvoice(t);
    const tenant = `${t.setup.key.toUpperCase()} ${t.setup.key === 'a' ? 'containers' : 'KVM'}`;
    console.log(
      row([
        tenant,
        'CPU core-s',
        cpu.kernel.toFixed(3),
        cpu.invoice.toFixed(3),
        percent(cpu.deviation),
        '±1 %',
      ]),
    );
    console.log(
      row([
        tenant,
        'memory GiB-s',
        memory.kernel.toFixed(4),
        memory.invoice.toFixed(4),
        percent(memory.deviation),
        '±5 %',
      ]),
    );
    checks.push([
      Math.abs(cpu.deviation) <= CPU_TOLERANCE,
      `${tenant}: CPU within 1 % of the kernel`,
    ]);
    checks.push([Math.abs(memory.deviation) <= MEMORY_TOLERANCE, `${tenant}: memory within 5 %`]);
  }
  console.log(
    `  (A: parent cgroup counter of ${r.containers.length} containers, incl. one that lived ` +
      `${r.containers.find((c) => c.role === 'short-lived')?.lifetimeSeconds.toFixed(1) ?? '?'} s; ` +
      `B: domain ${r.domain.name}, mean RSS ${(r.domain.meanRssBytes / 2 ** 20).toFixed(1)} MiB)`,
  );

  const roles = new Map<string, string>([
    ...r.containers.map((c): [string, string] => [c.id, `container ${c.role}`]),
    [r.domain.uuid, `VM ${r.domain.name}`],
  ]);
  for (const t of [r.tenants.a, r.tenants.b]) {
    printInvoice(t, roles);
    const expected = expectedInvoice(t.setup.plan, {
      cpu: t.draft.lines.find((l) => l.meter === 'cpu')?.quantitySeconds ?? '0',
      memory: t.draft.lines.find((l) => l.meter === 'memory')?.quantitySeconds ?? '0',
    });
    const name = `${t.setup.key.toUpperCase()}`;
    checks.push([
      JSON.stringify(t.draft.lines.map((l) => [l.meter, l.amount])) ===
        JSON.stringify(expected.lines.map((l) => [l.meter, l.amount])) &&
        t.draft.total === expected.total,
      `${name}: amounts = the plan arithmetic, recomputed independently (${expected.total} ${t.setup.currency})`,
    ]);
    const ledger = {
      cpu: Number(t.draft.usageTotals.cpuUsageCoreSeconds),
      memory: Number(t.draft.usageTotals.memoryUsageByteSeconds) / GIB,
    };
    checks.push([
      floatClose(t.influx.cpuCoreSeconds, ledger.cpu) &&
        floatClose(t.influx.memoryGibSeconds, ledger.memory) &&
        floatClose(t.influx.amount, Number(t.ledgerAmount)),
      `${name}: InfluxDB totals = the ledger`,
    ]);
    checks.push([
      floatClose(t.panels.cpuCoreHours, ledger.cpu / 3600) &&
        floatClose(t.panels.memoryGibHours, ledger.memory / 3600) &&
        floatClose(
          t.panels.monthToDateMemoryGibHours ?? NaN,
          invoiceSeconds(t.draft, 'memory') / 3600,
        ),
      `${name}: Grafana "Tenant usage & charges" panels = the invoice quantities`,
    ]);
    const disagreements = documentDisagreements(t.final.json, t.final.csv, t.final.pdfText);
    checks.push([
      disagreements.length === 0 &&
        t.final.json.contentHash === recomputedContentHash(t.final.json),
      `${name}: final JSON, CSV and PDF agree; content hash verified${disagreements.length > 0 ? ` (${disagreements.join('; ')})` : ''}`,
    ]);
    checks.push([
      t.access.own === 200 && [403, 404].includes(t.access.other) && t.access.admin === 200,
      `${name}: its key reads its invoice (${t.access.own}), not the other's (${t.access.other})`,
    ]);
  }
  checks.push([
    r.settleProblems.length === 0,
    `every sample rated before comparing${r.settleProblems.length > 0 ? `: ${r.settleProblems.join('; ')}` : ''}`,
  ]);

  console.log('\nCHECKS');
  for (const [ok, text] of checks) console.log(`  ${ok ? '✓' : '✗'} ${text}`);
  return checks.filter(([ok]) => !ok).length;
}

function printInvoice(t: TenantOutcome, roles: ReadonlyMap<string, string>): void {
  const i: InvoiceJson = t.final.json;
  console.log(
    `\nINVOICE ${i.number ?? '(draft)'} — ${t.setup.name} (${i.tenantId}), ${i.period}, ${t.setup.timeZone}, ${i.status}`,
  );
  console.log(
    row(['line', 'quantity', 'unit', 'unit price', `amount ${i.currency}`], [46, 12, 10, 10, 14]),
  );
  for (const l of i.lines) {
    console.log(
      row(
        [l.description.slice(0, 45), l.quantity, l.unit, l.unitPrice ?? 'tiered', l.amount],
        [46, 12, 10, 10, 14],
      ),
    );
  }
  console.log(row(['subtotal', '', '', '', i.subtotal], [46, 12, 10, 10, 14]));
  console.log(row(['total', '', '', '', i.total], [46, 12, 10, 10, 14]));
  console.log(`  content SHA-256 ${i.contentHash ?? '-'}`);
  console.log(row(['by resource', 'vCPU-hour', 'GiB-hour'], [46, 12, 12]));
  for (const res of i.resources) {
    // The tenant's parent-cgroup residual (ADR 3): CPU of exited containers no sample carried.
    const name =
      roles.get(res.resourceId) ??
      (res.resourceId.includes(':cgroup:')
        ? 'exited containers (parent cgroup residual)'
        : res.resourceId);
    console.log(row([name.slice(0, 45), res.cpu.quantity, res.memory.quantity], [46, 12, 12]));
  }
}

function row(cells: string[], widths: number[] = [16, 14, 18, 14, 12, 8]): string {
  return `  ${cells.map((c, k) => (k === 0 ? c.padEnd(widths[k] ?? 12) : c.padStart(widths[k] ?? 12))).join(' ')}`;
}

function whereToLook(scenario: AcceptanceScenario, r: ScenarioResult, keyFile: string): void {
  const p = scenario.pipeline;
  const a = r.tenants.a.setup;
  const auth = `-H "Authorization: Bearer $(cat ${rel(keyFile)})"`;
  console.log(`
WHERE TO LOOK (URLs while the services are up; the files stay)
  Billing API docs     ${p.billingUrl}/docs   (admin key: ${rel(keyFile)}, mode 600)
  Invoice JSON         curl -s ${auth} ${p.billingUrl}/v1/tenants/${a.id}/invoices/${a.period}
  Usage by day         curl -s ${auth} '${p.billingUrl}/v1/tenants/${a.id}/usage?from=${r.tenants.a.draft.periodStart}&to=${r.tenants.a.draft.periodEnd}&granularity=day'
  InfluxDB             curl -s -G ${localInfra.influxUrl}/query --data-urlencode db=${p.influxDatabase} --data-urlencode 'q=SELECT sum("cpu_core_seconds"), sum("memory_gib_seconds"), sum("amount") FROM "usage" GROUP BY "tenant"'
  Grafana              dashboard "Tenant usage & charges" (infra/grafana/dashboards/tenant-usage.json), tenants ${a.id} and ${r.tenants.b.setup.id}: start Grafana with METERING_INFLUXDB_DB=${p.influxDatabase} (infra/grafana/provisioning)
  Invoice PDFs         ${rel(r.tenants.a.final.pdfPath)}
                       ${rel(r.tenants.b.final.pdfPath)}   (CSV and JSON beside them)
  Service logs         ${rel(p.logDir)}/${r.name}-*.log`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
