import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

// The portal's pure modules (services/portal/src/format.ts, usage-rows.ts) hold the arithmetic
// the pages show: local days ↔ instants, hours, the usage table's rows, filter, sort, CSV and the
// stacked series. The portal is a browser build (tsc checks it without output), so this spec
// transpiles the two files with TypeScript itself into a temporary folder and imports them.

const SRC = resolve(__dirname, '../../../services/portal/src');
const dir = mkdtempSync(join(tmpdir(), 'portal-pure-'));

interface Row {
  start: string;
  time: string;
  resourceId: string;
  name: string;
  kind: string;
  host: string;
  cpuHours: string;
  gibHours: string;
  cpu: number;
  gib: number;
  complete: string;
}
interface Format {
  startOfLocalDay(date: string, timeZone: string): Date;
  addDays(date: string, days: number): string;
  localDateTime(iso: string, timeZone: string): string;
  hours(seconds: string, digits?: number): string;
  percent(ratio: string | null): string;
}
interface UsageRows {
  usageRows(usage: unknown): Row[];
  filterRows(rows: Row[], text: string): Row[];
  sortRows(rows: Row[], sort: { key: string; descending: boolean }): Row[];
  rowsCsv(rows: Row[], timeZone: string): string;
  chartData(
    rows: Row[],
    meter: 'cpu' | 'gib',
    max?: number,
  ): { times: number[]; series: { key: string; label: string; values: number[] }[] };
}
let format: Format;
let rows: UsageRows;

before(async () => {
  for (const name of ['format', 'usage-rows']) {
    const out = ts.transpileModule(readFileSync(join(SRC, `${name}.ts`), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    writeFileSync(
      join(dir, `${name}.mjs`),
      out.outputText.replace(/from '\.\/format'/g, "from './format.mjs'"),
    );
  }
  format = (await import(pathToFileURL(join(dir, 'format.mjs')).href)) as Format;
  rows = (await import(pathToFileURL(join(dir, 'usage-rows.mjs')).href)) as UsageRows;
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('portal format', () => {
  test('a local day starts at the zone’s midnight, also on days that change the offset', () => {
    const cases: [string, string, string][] = [
      ['2026-11-01', 'UTC', '2026-11-01T00:00:00.000Z'],
      ['2026-11-01', 'Europe/Berlin', '2026-10-31T23:00:00.000Z'],
      ['2026-03-29', 'Europe/Berlin', '2026-03-28T23:00:00.000Z'], // 23-hour day
      ['2026-03-30', 'Europe/Berlin', '2026-03-29T22:00:00.000Z'],
      ['2026-10-25', 'Europe/Berlin', '2026-10-24T22:00:00.000Z'], // 25-hour day
      ['2026-10-26', 'Europe/Berlin', '2026-10-25T23:00:00.000Z'],
      ['2026-12-01', 'Asia/Kolkata', '2026-11-30T18:30:00.000Z'],
      ['2026-12-01', 'America/St_Johns', '2026-12-01T03:30:00.000Z'],
      ['2027-01-01', 'Pacific/Kiritimati', '2026-12-31T10:00:00.000Z'],
    ];
    for (const [date, zone, instant] of cases) {
      assert.equal(format.startOfLocalDay(date, zone).toISOString(), instant, `${date} ${zone}`);
    }
  });

  test('days, hours and percentages as the pages show them', () => {
    assert.equal(format.addDays('2026-12-31', 1), '2027-01-01');
    assert.equal(format.addDays('2028-02-28', 1), '2028-02-29');
    assert.equal(format.addDays('2026-03-01', -1), '2026-02-28');
    assert.equal(format.localDateTime('2026-11-03T13:00:00Z', 'Asia/Kolkata'), '2026-11-03 18:30');
    assert.equal(format.hours('7200'), '2.0000');
    assert.equal(format.hours('5400', 2), '1.50');
    assert.equal(format.percent('0.9987'), '99.87 %');
    assert.equal(format.percent(null), 'not known yet');
  });
});

describe('portal usage rows', () => {
  const usage = {
    tenantId: 't',
    granularity: 'hour',
    basis: 'usage',
    timeZone: 'Europe/Berlin',
    totals: { cpuCoreSeconds: '0', memoryGibSeconds: '0' },
    items: [
      {
        start: '2026-11-03T13:00:00.000Z',
        resourceId: 'a',
        cpuCoreSeconds: '3600',
        memoryGibSeconds: '1800',
        completeness: '0.9990',
      },
      {
        start: '2026-11-03T13:00:00.000Z',
        resourceId: 'b',
        cpuCoreSeconds: '7200',
        memoryGibSeconds: '0',
        completeness: '1.0000',
      },
      {
        start: '2026-11-03T14:00:00.000Z',
        resourceId: 'a',
        cpuCoreSeconds: '1800',
        memoryGibSeconds: '3600',
        completeness: '0.5',
      },
      {
        start: '2026-11-03T14:00:00.000Z',
        resourceId: 'c',
        cpuCoreSeconds: '36',
        memoryGibSeconds: '36',
        completeness: null,
      },
    ],
    resources: [
      { id: 'a', kind: 'container', name: 'web, "blue"', host: 'node-1' },
      { id: 'b', kind: 'vm', name: '=cmd()', host: 'node-2' },
      { id: 'c', kind: 'container', name: null, host: null },
    ],
  };

  test('rows carry names, kinds, hosts and hours in the zone; a nameless resource shows its id', () => {
    const r = rows.usageRows(usage);
    assert.deepEqual(
      r.map((x) => [x.time, x.name, x.kind, x.host, x.cpuHours, x.gibHours, x.complete]),
      [
        ['2026-11-03 14:00', 'web, "blue"', 'container', 'node-1', '1.0000', '0.5000', '99.90 %'],
        ['2026-11-03 14:00', '=cmd()', 'vm', 'node-2', '2.0000', '0.0000', '100.00 %'],
        ['2026-11-03 15:00', 'web, "blue"', 'container', 'node-1', '0.5000', '1.0000', '50.00 %'],
        ['2026-11-03 15:00', 'c', 'container', '', '0.0100', '0.0100', '—'],
      ],
    );
  });

  test('filter matches name, id, kind or host; sort by any column, ties by time', () => {
    const r = rows.usageRows(usage);
    assert.deepEqual(
      rows.filterRows(r, 'NODE-2').map((x) => x.resourceId),
      ['b'],
    );
    assert.deepEqual(
      rows.filterRows(r, ' vm ').map((x) => x.resourceId),
      ['b'],
    );
    assert.equal(rows.filterRows(r, '').length, 4);
    const byCpu = rows.sortRows(r, { key: 'cpu', descending: true });
    assert.deepEqual(
      byCpu.map((x) => x.cpuHours),
      ['2.0000', '1.0000', '0.5000', '0.0100'],
    );
    const byName = rows.sortRows(r, { key: 'name', descending: false });
    assert.deepEqual(
      byName.map((x) => x.resourceId),
      ['b', 'c', 'a', 'a'],
    );
    assert.deepEqual(
      byName.slice(2).map((x) => x.start),
      ['2026-11-03T13:00:00.000Z', '2026-11-03T14:00:00.000Z'],
    );
    // Completeness: unknown sorts below every known share.
    assert.deepEqual(
      rows.sortRows(r, { key: 'complete', descending: false }).map((x) => x.complete),
      ['—', '50.00 %', '99.90 %', '100.00 %'],
    );
  });

  test('the CSV holds the rows as shown, quoted per RFC 4180, formulas defused', () => {
    const csv = rows.rowsCsv(rows.usageRows(usage).slice(0, 2), 'Europe/Berlin');
    assert.equal(
      csv,
      'start (Europe/Berlin),resource,resource_id,kind,host,cpu_core_hours,memory_gib_hours,completeness\r\n' +
        '2026-11-03 14:00,"web, ""blue""",a,container,node-1,1.0000,0.5000,99.90 %\r\n' +
        "2026-11-03 14:00,'=cmd(),b,vm,node-2,2.0000,0.0000,100.00 %\r\n",
    );
  });

  test('chart series per resource, largest first, the rest summed as others', () => {
    const data = rows.chartData(rows.usageRows(usage), 'cpu', 2);
    assert.deepEqual(data.times, [
      Date.parse('2026-11-03T13:00:00Z') / 1000,
      Date.parse('2026-11-03T14:00:00Z') / 1000,
    ]);
    assert.deepEqual(
      data.series.map((s) => [s.key, s.label, s.values]),
      [
        ['b', '=cmd()', [2, 0]],
        ['a', 'web, "blue"', [1, 0.5]],
        ['', '1 other', [0, 0.01]],
      ],
    );
  });
});
