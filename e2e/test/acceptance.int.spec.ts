import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CPU_TOLERANCE,
  MEMORY_TOLERANCE,
  invoiceSeconds,
  kernelVersusInvoice,
  percent,
  recomputedContentHash,
} from '../src/acceptance-criteria';
import {
  AcceptanceScenario,
  GIB,
  type ScenarioResult,
  type TenantOutcome,
  floatClose,
} from '../src/acceptance.scenario';
import { localInfra } from '@metering/testing';
import { documentDisagreements } from '../src/billing-documents';
import { e2eSettings } from '../src/config';
import { Fraction, expectedInvoice } from '../src/plan-arithmetic';

// Issue 6's acceptance, on the real local stack (README "Quick start"): real containers and a
// real KVM domain, the real services, compared with the kernel's and libvirt's own counters.
// The scenario is shared with `npm run demo`; this file judges what it observed.
const settings = e2eSettings();
const outDir = mkdtempSync(join(tmpdir(), 'e2e-invoices-'));
const logDir = join(settings.stackDir, 'logs', 'tests');
mkdirSync(logDir, { recursive: true });
let progressLog = join(logDir, 'e2e-scenario.log');
const HELD_MIB = 48;
const scenario = new AcceptanceScenario({
  runSeconds: settings.runSeconds,
  shortLivedAfterSeconds: 20,
  shortLivedSeconds: 4,
  heldMib: HELD_MIB,
  outDirOf: () => outDir,
  draftEverySeconds: Math.floor(settings.runSeconds / 4),
  onProgress: (line) => appendFileSync(progressLog, `${new Date().toISOString()} ${line}\n`),
});
progressLog = join(logDir, `${scenario.name}-scenario.log`);
let result: ScenarioResult | undefined;

before(
  async () => {
    result = await scenario.run();
  },
  { timeout: 330_000 },
);

after(
  async () => {
    try {
      await scenario.stop();
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  },
  { timeout: 120_000 },
);

function outcome(): ScenarioResult {
  assert.ok(result, `the scenario did not complete (progress: ${progressLog})`);
  return result;
}

const both = (r: ScenarioResult): TenantOutcome[] => [r.tenants.a, r.tenants.b];

describe('end to end: two tenants on the real stack', () => {
  test('everything the run produced was rated; drafts stayed drafts while it ran', (t) => {
    const r = outcome();
    t.diagnostic(
      `scenario ${r.name}: ${r.seconds.run.toFixed(0)} s of workload, ${r.seconds.total.toFixed(0)} s in all`,
    );
    assert.deepEqual(r.settleProblems, []);
    assert.ok(r.liveDraftStatuses.length >= 2, `${r.liveDraftStatuses.length} live drafts read`);
    assert.ok(
      r.liveDraftStatuses.every((s) => s === 'draft'),
      r.liveDraftStatuses.join(),
    );
    // Every container of tenant A ran; the short-lived one lived seconds, not the whole run.
    const roles = r.containers.map((c) => c.role).sort();
    assert.deepEqual(roles, ['burner-1', 'burner-2', 'memory-holder', 'short-lived']);
    const short = r.containers.find((c) => c.role === 'short-lived');
    assert.ok(
      short !== undefined && short.lifetimeSeconds < 10,
      `short-lived: ${short?.lifetimeSeconds} s`,
    );
  });

  test(`tenant A: invoice CPU = the parent cgroup's own count within ${CPU_TOLERANCE * 100} %`, (t) => {
    const a = outcome().tenants.a;
    const { cpu } = kernelVersusInvoice(a);
    t.diagnostic(
      `A CPU core-seconds: kernel ${cpu.kernel.toFixed(3)}, invoice ${cpu.invoice.toFixed(3)} (${percent(cpu.deviation)})`,
    );
    assert.ok(cpu.kernel > 10, `the burners used ${cpu.kernel} CPU-s`);
    assert.ok(Math.abs(cpu.deviation) <= CPU_TOLERANCE, `${percent(cpu.deviation)}`);
  });

  test(`tenant A: invoice memory = the containers' working sets over their lives within ${MEMORY_TOLERANCE * 100} %`, (t) => {
    const r = outcome();
    const { memory } = kernelVersusInvoice(r.tenants.a);
    const holder = r.containers.find((c) => c.role === 'memory-holder');
    assert.ok(holder);
    t.diagnostic(
      `A memory GiB-seconds: kernel ${memory.kernel.toFixed(4)}, invoice ${memory.invoice.toFixed(4)} (${percent(memory.deviation)})`,
    );
    t.diagnostic(
      `holder: ${(holder.peakBytes / 2 ** 20).toFixed(1)} MiB for ${holder.lifetimeSeconds.toFixed(1)} s; known amount × life = ${((HELD_MIB * 2 ** 20 * holder.lifetimeSeconds) / GIB).toFixed(4)} GiB-s`,
    );
    // The holder really held its known amount; the others are a shell each.
    assert.ok(holder.peakBytes >= HELD_MIB * 2 ** 20, `holder peak ${holder.peakBytes} B`);
    assert.ok(Math.abs(memory.deviation) <= MEMORY_TOLERANCE, `${percent(memory.deviation)}`);
  });

  test(`tenant B: CPU = libvirt's cpu.time within ${CPU_TOLERANCE * 100} %, memory = QEMU's resident set within ${MEMORY_TOLERANCE * 100} %`, (t) => {
    const r = outcome();
    const { cpu, memory } = kernelVersusInvoice(r.tenants.b);
    t.diagnostic(
      `B CPU core-seconds: libvirt ${cpu.kernel.toFixed(3)}, invoice ${cpu.invoice.toFixed(3)} (${percent(cpu.deviation)})`,
    );
    t.diagnostic(
      `B memory GiB-seconds: kernel ${memory.kernel.toFixed(4)}, invoice ${memory.invoice.toFixed(4)} (${percent(memory.deviation)}); mean RSS ${(r.domain.meanRssBytes / 2 ** 20).toFixed(1)} MiB over ${r.domain.lifetimeSeconds.toFixed(1)} s`,
    );
    assert.ok(cpu.kernel > 1, `the domain used ${cpu.kernel} CPU-s`);
    assert.ok(Math.abs(cpu.deviation) <= CPU_TOLERANCE, `${percent(cpu.deviation)}`);
    assert.ok(Math.abs(memory.deviation) <= MEMORY_TOLERANCE, `${percent(memory.deviation)}`);
    // The VM is all of tenant B.
    assert.deepEqual(
      r.tenants.b.draft.resources.map((x) => x.resourceId),
      [r.domain.uuid],
    );
  });

  test('amounts are the plan arithmetic of the invoice quantities, exactly (graduated tiers, line rounding, minimum)', (t) => {
    for (const tenant of both(outcome())) {
      const { draft, setup } = tenant;
      const expected = expectedInvoice(setup.plan, {
        cpu: draft.lines.find((l) => l.meter === 'cpu')?.quantitySeconds ?? '0',
        memory: draft.lines.find((l) => l.meter === 'memory')?.quantitySeconds ?? '0',
      });
      t.diagnostic(
        `${setup.key.toUpperCase()}: ${draft.lines.map((l) => `${l.meter} ${l.amount}`).join(', ')}; total ${draft.total} ${draft.currency}`,
      );
      assert.deepEqual(
        draft.lines.map((l) => ({ meter: l.meter, amount: l.amount })),
        expected.lines,
        setup.id,
      );
      assert.equal(draft.subtotal, expected.subtotal);
      assert.equal(draft.total, expected.total);
      // The usage API states the same exact quantities as the invoice.
      assert.equal(
        Fraction.parse(tenant.usage.totals.cpuCoreSeconds).compare(
          Fraction.parse(draft.usageTotals.cpuUsageCoreSeconds),
        ),
        0,
      );
      assert.equal(
        Fraction.parse(tenant.usage.totals.memoryGibSeconds)
          .times(new Fraction(BigInt(GIB)))
          .compare(Fraction.parse(draft.usageTotals.memoryUsageByteSeconds)),
        0,
      );
    }
    const { a, b } = outcome().tenants;
    // A's CPU went past its first tier (graduation at work); B's usage is below its minimum.
    assert.ok(
      invoiceSeconds(a.draft, 'cpu') / 3600 > 0.002,
      'tenant A reached the second CPU tier',
    );
    assert.equal(b.draft.lines.at(-1)?.meter, 'minimum');
  });

  test('InfluxDB totals equal the ledger (float64 fields: 1e-9 relative)', (t) => {
    for (const { setup, draft, influx, ledgerAmount } of both(outcome())) {
      const ledger = {
        cpuCoreSeconds: Number(draft.usageTotals.cpuUsageCoreSeconds),
        memoryGibSeconds: Number(draft.usageTotals.memoryUsageByteSeconds) / GIB,
        amount: Number(ledgerAmount),
      };
      t.diagnostic(
        `${setup.key.toUpperCase()}: InfluxDB ${JSON.stringify(influx)}, ledger ${JSON.stringify(ledger)}`,
      );
      for (const k of ['cpuCoreSeconds', 'memoryGibSeconds', 'amount'] as const) {
        assert.ok(
          floatClose(influx[k], ledger[k]),
          `${setup.id} ${k}: InfluxDB ${influx[k]}, ledger ${ledger[k]}`,
        );
      }
      assert.ok(ledger.amount > 0);
    }
  });

  test('the "Tenant usage & charges" panels show the invoice totals', () => {
    for (const { setup, draft, panels } of both(outcome())) {
      const where = `${setup.id}: ${panels.queries.join(' | ')}`;
      const hours = (meter: 'cpu' | 'memory') => invoiceSeconds(draft, meter) / 3600;
      // Usage panels sum the usage basis over time; month-to-date panels hold the month's
      // quantities on the plan's basis (usage here), priced or free (B's CPU).
      assert.ok(
        floatClose(panels.cpuCoreHours, Number(draft.usageTotals.cpuUsageCoreSeconds) / 3600),
        where,
      );
      assert.ok(
        floatClose(
          panels.memoryGibHours,
          Number(draft.usageTotals.memoryUsageByteSeconds) / GIB / 3600,
        ),
        where,
      );
      assert.ok(
        floatClose(panels.monthToDateCpuHours ?? NaN, hours('cpu')),
        `${panels.monthToDateCpuHours} ${where}`,
      );
      assert.ok(
        floatClose(panels.monthToDateMemoryGibHours ?? NaN, hours('memory')),
        `${panels.monthToDateMemoryGibHours} ${where}`,
      );
      // Panels show unrounded charges; each meter line of the invoice is rounded once.
      const meterLines = draft.lines.filter(
        (l) => l.meter === 'cpu' || l.meter === 'memory',
      ).length;
      const tolerance = 0.005 * meterLines + 1e-9;
      for (const charges of [panels.monthToDateCharges ?? NaN, panels.charges]) {
        assert.ok(
          Math.abs(charges - Number(draft.subtotal)) <= tolerance,
          `${charges} vs subtotal ${draft.subtotal}; ${where}`,
        );
      }
      // Top resources: each resource's figures are its line of the invoice's breakdown.
      assert.deepEqual(
        [...panels.topResources.keys()].sort(),
        draft.resources.map((x) => x.resourceId).sort(),
      );
      for (const res of draft.resources) {
        const row = panels.topResources.get(res.resourceId);
        assert.ok(
          row && floatClose(row.cpuHours, Number(res.cpu.quantitySeconds) / 3600),
          res.resourceId,
        );
        assert.ok(
          floatClose(row.memoryGibHours, Number(res.memory.quantitySeconds) / 3600),
          res.resourceId,
        );
      }
    }
  });

  test('closing the month makes final invoices, numbered and hashed, as the drafts said; JSON, CSV and PDF agree', (t) => {
    const r = outcome();
    assert.ok(r.closes.length >= 1);
    for (const close of r.closes) assert.equal(close.finalized, 2, JSON.stringify(close));
    for (const { setup, draft, final } of both(r)) {
      const json = final.json;
      t.diagnostic(
        `${setup.key.toUpperCase()}: ${json.number ?? '?'} ${json.total} ${json.currency}, PDF ${final.pdfPath}`,
      );
      assert.equal(json.status, 'final');
      assert.match(json.number ?? '', new RegExp(`^INV-${setup.period}-\\d{6}$`));
      assert.match(json.contentHash ?? '', /^[0-9a-f]{64}$/);
      assert.equal(json.contentHash, recomputedContentHash(json));
      assert.ok(
        Date.parse(json.issuedAt ?? '') >= Date.parse(r.testClockStart),
        json.issuedAt ?? '',
      );
      assert.deepEqual(
        json.lines.map((l) => [l.meter, l.quantitySeconds, l.amount]),
        draft.lines.map((l) => [l.meter, l.quantitySeconds, l.amount]),
      );
      assert.equal(json.total, draft.total);
      assert.deepEqual(documentDisagreements(json, final.csv, final.pdfText), []);
    }
    assert.notEqual(r.tenants.a.final.json.number, r.tenants.b.final.json.number);
  });

  test("tenant A's key cannot read tenant B's invoice (nor B's A's); the admin key reads both", () => {
    for (const { setup, access } of both(outcome())) {
      assert.equal(access.own, 200, `${setup.id} on its own invoice`);
      assert.ok([403, 404].includes(access.other), `${setup.id} on the other's: ${access.other}`);
      assert.equal(access.admin, 200);
    }
  });

  test('the usage API names the real containers and the KVM domain as Docker and libvirt do', () => {
    const r = outcome();
    const byId = (resources: TenantOutcome['resources'], id: string) =>
      resources.find((x) => x.id === id);
    assert.ok(r.containers.length >= 3, `${r.containers.length} containers`);
    for (const c of r.containers) {
      const found = byId(r.tenants.a.resources, c.id);
      assert.ok(found, `container ${c.role} (${c.id}) in tenant A's usage by resource`);
      assert.equal(found.name, `${r.name}-${c.role}`, `the name docker run --name gave`);
      assert.equal(found.kind, 'container');
      assert.equal(found.image, localInfra.busyboxImage);
      assert.ok(found.host !== null && found.host !== '', 'the host that measured it');
    }
    const vm = byId(r.tenants.b.resources, r.domain.uuid);
    assert.ok(vm, `domain ${r.domain.name} (${r.domain.uuid}) in tenant B's usage by resource`);
    assert.equal(vm.name, r.domain.name);
    assert.equal(vm.kind, 'vm');
    assert.ok(
      r.tenants.b.resources.every((x) => x.name !== null),
      'every resource rated in this run has a name',
    );
  });

  test('the final PDFs and CSVs name the real containers and the KVM domain beside their short ids', () => {
    const r = outcome();
    // pdftotext -layout keeps a table row on one line; spaces are collapsed for the comparison.
    // A name too long for the PDF's column loses its end (…), never the short id.
    const flat = (text: string) => text.replace(/\s+/g, ' ');
    const esc = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const shows = (pdf: string, name: string, shortId: string) =>
      new RegExp(`${esc(name.slice(0, 12))}[^\\s(]* \\(${esc(shortId)}\\)`).test(flat(pdf));
    for (const c of r.containers) {
      const name = `${r.name}-${c.role}`;
      assert.ok(shows(r.tenants.a.final.pdfText, name, c.id.slice(0, 12)), `A's PDF: ${name}`);
      assert.ok(r.tenants.a.final.csv.includes(`,${c.id},${name},`), `A's CSV: ${name}`);
    }
    const vm = r.domain;
    assert.ok(shows(r.tenants.b.final.pdfText, vm.name, vm.uuid.split('-')[0] ?? ''), vm.name);
    assert.ok(r.tenants.b.final.csv.includes(`,${vm.uuid},${vm.name},`), `B's CSV: ${vm.name}`);
  });
});
