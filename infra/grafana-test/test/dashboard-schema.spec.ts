import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { checkDashboardSchemas, grafanaSchemaVersion } from '../src/dashboard-schema.checker';
import {
  type DashboardJson,
  type LoadedDashboard,
  REPO_ROOT,
  loadDashboards,
  panelsOf,
  queriesOf,
} from '../src/dashboard.loader';
import { interpolateInfluxQL, interpolatePromQL } from '../src/grafana-variables';

const dashboards = loadDashboards();
const byUid = (uid: string): LoadedDashboard => {
  const d = dashboards.find((x) => x.json.uid === uid);
  assert.ok(d, `no dashboard with uid ${uid}`);
  return d;
};

/** A copy of a real dashboard with one change, to show the check can fail. */
function mutated(change: (d: DashboardJson & Record<string, unknown>) => void): string {
  const d = JSON.parse(byUid('metering-tenant-usage').text) as DashboardJson &
    Record<string, unknown>;
  change(d);
  return JSON.stringify(d, null, 2);
}

describe("dashboards against Grafana's dashboard schema (@grafana/schema)", () => {
  test('the three dashboards are there', () => {
    assert.deepEqual(dashboards.map((d) => d.json.uid).sort(), [
      'metering-fleet',
      'metering-pipeline',
      'metering-tenant-usage',
    ]);
  });

  test('every dashboard, panel option set and query type-checks', () => {
    const errors = checkDashboardSchemas(dashboards.map((d) => ({ name: d.file, text: d.text })));
    assert.deepEqual(errors, []);
  });

  test('the check fails on what Grafana would not load as written', () => {
    const cases: [string, string, RegExp][] = [
      ['unknown dashboard field', mutated((d) => (d.colour = 'blue')), /'"colour"' does not exist/],
      [
        'schemaVersion as a string',
        mutated((d) => ((d as Record<string, unknown>).schemaVersion = '41')),
        /not assignable to type 'number'/,
      ],
      [
        'threshold mode outside its enum',
        mutated((d) => {
          const fc = d.panels[0]?.fieldConfig as unknown as {
            defaults: { thresholds: { mode: string } };
          };
          fc.defaults.thresholds.mode = 'absolut';
        }),
        /"absolut"/,
      ],
      [
        'stat panel without its required options',
        mutated((d) => {
          delete d.panels[0]?.options?.reduceOptions;
        }),
        /panel 1 .* options: .*reduceOptions/s,
      ],
      [
        'timeseries custom field option misspelt',
        mutated((d) => {
          const p = d.panels.find((x) => x.type === 'timeseries');
          if (p?.fieldConfig?.defaults.custom !== undefined)
            p.fieldConfig.defaults.custom.drawStlye = 'bars';
        }),
        /fieldConfig\.defaults\.custom: .*drawStlye/s,
      ],
      [
        'InfluxQL target with a misspelt field',
        mutated((d) => {
          const t = d.panels[0]?.targets?.[0] as unknown as Record<string, unknown>;
          t.querry = t.query;
          delete t.query;
        }),
        /target A: .*querry/s,
      ],
      [
        'variable refresh outside its enum',
        mutated((d) => {
          const v = d.templating?.list?.[0] as unknown as Record<string, unknown>;
          v.refresh = 7;
        }),
        /not assignable to type 'VariableRefresh/,
      ],
      [
        'panel type without a schema',
        mutated((d) => {
          if (d.panels[0] !== undefined) d.panels[0].type = 'graph';
        }),
        /panel type "graph" has no schema/,
      ],
    ];
    for (const [what, text, expected] of cases) {
      const errors = checkDashboardSchemas([{ name: 'mutated.json', text }]);
      assert.ok(
        errors.some((e) => expected.test(e)),
        `${what}: expected an error matching ${String(expected)}, got ${JSON.stringify(errors)}`,
      );
    }
  });

  test('the schema package is the one of the Grafana release docker-compose.yml and k8s deploy', () => {
    const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { image?: string }>;
    };
    const k8s = readFileSync(join(REPO_ROOT, 'k8s', 'base', 'grafana.yaml'), 'utf8');
    const image = compose.services.grafana?.image ?? '';
    const release = /^grafana\/grafana:(\d+\.\d+)\.\d+$/.exec(image)?.[1];
    assert.ok(release, `docker-compose grafana image ${image}`);
    assert.ok(k8s.includes(`image: ${image}`), 'k8s runs the same Grafana image');
    assert.equal(grafanaSchemaVersion().split('.').slice(0, 2).join('.'), release);
  });
});

describe('dashboard conventions', () => {
  test('current JSON model, unique uids and panel ids, datasource on every panel and target', () => {
    assert.equal(new Set(dashboards.map((d) => d.json.uid)).size, dashboards.length);
    for (const d of dashboards) {
      assert.ok(d.json.schemaVersion >= 39, `${d.file}: schemaVersion ${d.json.schemaVersion}`);
      const panels = panelsOf(d.json);
      assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, `${d.file}: panel ids`);
      for (const p of panels) {
        if (p.type === 'row' || p.type === 'text') continue;
        assert.ok(
          p.datasource?.uid !== undefined && p.datasource.type !== undefined,
          `${d.file}: panel ${p.id}`,
        );
        assert.ok((p.targets ?? []).length > 0, `${d.file}: panel ${p.id} has no query`);
        for (const t of p.targets ?? []) {
          assert.deepEqual(t.datasource, p.datasource, `${d.file}: panel ${p.id} ${t.refId}`);
        }
      }
    }
  });

  test('panels fit the 24-column grid without overlapping', () => {
    for (const d of dashboards) {
      const boxes = panelsOf(d.json).map((p) => ({ id: p.id, ...p.gridPos! }));
      for (const b of boxes)
        assert.ok(b.x >= 0 && b.w > 0 && b.x + b.w <= 24 && b.h > 0, `${d.file}: panel ${b.id}`);
      for (const a of boxes) {
        for (const b of boxes) {
          if (a.id >= b.id) continue;
          const apart =
            a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
          assert.ok(apart, `${d.file}: panels ${a.id} and ${b.id} overlap`);
        }
      }
    }
  });

  test('tenant dashboard: variables tenant and resource from InfluxQL SHOW TAG VALUES', () => {
    const vars = byUid('metering-tenant-usage').json.templating?.list ?? [];
    const tenant = vars.find((v) => v.name === 'tenant');
    const resource = vars.find((v) => v.name === 'resource');
    assert.equal(tenant?.type, 'query');
    assert.equal(tenant?.datasource?.uid, 'influxdb');
    assert.equal(typeof tenant?.query, 'string');
    assert.match(tenant.query as string, /^SHOW TAG VALUES FROM "usage" WITH KEY = "tenant"/);
    assert.equal(resource?.type, 'query');
    assert.equal(typeof resource?.query, 'string');
    assert.match(
      resource.query as string,
      /^SHOW TAG VALUES FROM "usage" WITH KEY = "resource" WHERE "tenant" = '\$tenant'/,
    );
    assert.equal(resource?.includeAll, true);
    assert.equal(resource?.allValue, '.*');
  });

  test('fleet dashboard: host, tenant and kind variables filter every InfluxDB panel; counts mean reporting now', () => {
    const fleet = byUid('metering-fleet').json;
    const vars = fleet.templating?.list ?? [];
    const byName = (name: string) => vars.find((v) => v.name === name);
    const queryOf = (name: string): string => {
      const query = byName(name)?.query;
      assert.equal(typeof query, 'string', `variable ${name} has a query text`);
      return query as string;
    };
    assert.match(queryOf('host'), /^SHOW TAG VALUES FROM "resource" WITH KEY = "host"/);
    assert.match(
      queryOf('tenant'),
      /^SHOW TAG VALUES FROM "resource" WITH KEY = "tenant" WHERE "host" =~ \/\^\$host\$\//,
    );
    assert.equal(byName('kind')?.type, 'custom');
    assert.equal(byName('kind')?.query, 'container,vm');
    for (const name of ['host', 'tenant', 'kind']) {
      assert.equal(byName(name)?.includeAll, true, name);
      assert.equal(byName(name)?.multi, true, name);
      assert.equal(byName(name)?.allValue, '.*', name);
    }
    // Two collection intervals (10 s) and slack by default, never hours.
    const reporting = byName('reporting');
    assert.match(JSON.stringify(reporting), /"current":\{"text":"30s","value":"30s"\}/);
    for (const q of queriesOf(byUid('metering-fleet'))) {
      if (q.language !== 'influxql' || q.isVariable) continue;
      for (const v of ['host', 'tenant', 'kind'])
        assert.match(
          q.text,
          new RegExp(`"${v}" =~ /\\^\\$${v}\\$/`),
          `${q.where} filters by $${v}`,
        );
    }
    const panels = fleet.panels ?? [];
    const panel = (title: string) => panels.find((p) => 'title' in p && p.title === title);
    for (const title of [
      'Hosts reporting now',
      'Containers reporting now',
      'VMs reporting now',
      'Tenants reporting now',
    ]) {
      const p = panel(title);
      assert.ok(p && 'targets' in p, title);
      assert.ok(!('timeFrom' in p) || p.timeFrom === undefined, `${title}: no fixed time range`);
      const text = JSON.stringify(p.targets);
      assert.match(text, /time > now\(\) - \$reporting/, title);
      assert.doesNotMatch(text, /\$timeFilter/, `${title}: not "seen in the dashboard range"`);
    }
    // Thresholds where an operator must act: amber and red.
    const colours = (title: string): string[] =>
      JSON.stringify(panel(title) ?? null).match(/"color":"(green|orange|red)"/g) ?? [];
    assert.ok(colours('Hosts reporting now').includes('"color":"red"'));
    for (const title of ['Hosts gone silent', 'Busiest resources']) {
      assert.ok(colours(title).includes('"color":"orange"'), `${title} amber`);
      assert.ok(colours(title).includes('"color":"red"'), `${title} red`);
    }
    const busiest = queriesOf(byUid('metering-fleet')).find((q) =>
      q.where.includes('"Busiest resources"'),
    );
    assert.match(String(busiest?.text), /GROUP BY "host", "tenant", "kind", "name", "resource"$/);
  });

  test('every query uses only known variables; InfluxQL panel queries are time-bounded', () => {
    const variables = {
      tenant: { kind: 'single', value: 'acme' },
      resource: { kind: 'all', allValue: '.*' },
      host: { kind: 'multi', values: ['node-1', 'node-2'] },
      kind: { kind: 'all', allValue: '.*' },
      reporting: { kind: 'single', value: '30s' },
    } as const;
    for (const d of dashboards) {
      for (const q of queriesOf(d)) {
        if (q.language === 'influxql') {
          const text = interpolateInfluxQL(q, { nowMs: 0, rangeMs: 3_600_000 }, variables, '1m');
          if (!q.isVariable) {
            assert.match(
              text,
              /time >= -?\d+ms and time <= -?\d+ms|time > now\(\) - \d+[smhd]\b/,
              `${d.file} ${q.where}`,
            );
            if (/GROUP BY time\(/.test(q.text))
              assert.match(q.text, /time\(\$__interval\)/, `${d.file} ${q.where}`);
          }
        } else {
          interpolatePromQL(q, { interval: '15s', rateInterval: '1m', rangeMs: 3_600_000 });
          if (/\brate\(|\bincrease\(/.test(q.text) && !/\[1h\]/.test(q.text)) {
            assert.match(
              q.text,
              /\[\$__rate_interval\]/,
              `${d.file} ${q.where}: rate over $__rate_interval`,
            );
          }
        }
      }
    }
  });
});
