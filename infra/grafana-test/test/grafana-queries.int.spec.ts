import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type InfluxSeries, promFiniteValues, promQL } from '@metering/pipeline-harness';
import { waitFor } from '@metering/testing';
import { loadAlertRules, metricNamesOf } from '../src/alert-rules.loader';
import { type DashboardQuery, loadDashboards, queriesOf } from '../src/dashboard.loader';
import { DATA_TIMEOUT_MS, type Variables, panelData } from './panel-data';
import { PipelineWorld } from './pipeline-world';

// Grafana cannot run here, so this runs what it would: every panel and variable query of
// infra/grafana/dashboards, with the variables substituted as Grafana does, against the real
// InfluxDB (the database rating wrote in this run) and a real Prometheus (scraping this run's
// services), after a short run of the real pipeline (PipelineWorld). Each must return data.
const world = new PipelineWorld();
const dashboards = loadDashboards();
const queries = dashboards.flatMap(queriesOf);
const { runInflux, influxData, runProm, promData, listing } = panelData(world);

function find(dashboardUid: string, title: string): DashboardQuery {
  const file = dashboards.find((d) => d.json.uid === dashboardUid)?.file;
  const q = queries.find((x) => x.dashboard === file && x.where.includes(`"${title}"`));
  assert.ok(q, `no query in panel "${title}" of ${dashboardUid}`);
  return q;
}

const lastValue = (series: readonly InfluxSeries[], column: number): number =>
  Number(series[0]?.values.at(-1)?.[column]);

before(async () => world.start(Date.now()), { timeout: 240_000 });
after(async () => world.stop(), { timeout: 120_000 });

describe('every Grafana panel query returns data after a pipeline run', () => {
  // The fleet's own variables: every host and kind, and a reporting window that still holds the
  // generated stream (it ended when the run started); `reporting now` is checked on its own below.
  const wholeFleet = {
    host: { kind: 'all', allValue: '.*' },
    kind: { kind: 'all', allValue: '.*' },
    reporting: { kind: 'single', value: '1h' },
  } as const;
  const tenantA: Variables = {
    ...wholeFleet,
    tenant: { kind: 'single', value: world.tenants.a },
    resource: { kind: 'all', allValue: '.*' },
  };
  const tenantB: Variables = {
    ...wholeFleet,
    tenant: { kind: 'single', value: world.tenants.b },
    resource: { kind: 'multi', values: [`${world.tenants.b}-vm-1`, `${world.tenants.b}-db-1`] },
  };
  const fleet: Variables = { ...wholeFleet, tenant: { kind: 'all', allValue: '.*' } };

  test('the variables list the tenants, and a tenant its resources', async () => {
    const variable = (name: string, dashboard = 'tenant-usage.json') => {
      const q = queries.find((x) => x.dashboard === dashboard && x.where === `variable $${name}`);
      assert.ok(q, `variable $${name} of ${dashboard}`);
      return q;
    };
    // The fleet's: every host, and the tenants of the selected hosts.
    const fleetHosts = await listing(variable('host', 'fleet.json'), {}, [
      'node-a',
      'node-b',
      world.hosts.docker,
      world.hosts.kvm,
    ]);
    for (const h of ['node-a', 'node-b', world.hosts.docker, world.hosts.kvm])
      assert.ok(fleetHosts.includes(h), `${h} in ${fleetHosts.join()}`);
    const dockerTenants = await listing(
      variable('tenant', 'fleet.json'),
      { host: { kind: 'single', value: world.hosts.docker } },
      [world.tenants.live],
    );
    assert.ok(dockerTenants.includes(world.tenants.live), `live in ${dockerTenants.join()}`);
    assert.ok(!dockerTenants.includes(world.tenants.a), 'tenant a runs on node-a and node-b only');
    const names = await listing(variable('tenant'), {}, Object.values(world.tenants));
    for (const t of Object.values(world.tenants))
      assert.ok(names.includes(t), `${t} in ${names.join()}`);
    const resourcesOfA = world.resources
      .filter((r) => r.tenant === world.tenants.a)
      .map((r) => r.id)
      .sort();
    const resources = await listing(variable('resource'), tenantA, resourcesOfA);
    assert.deepEqual([...resources].sort(), resourcesOfA);
  });

  test('every InfluxQL panel query returns data (tenant a, all resources; tenant b, two resources)', async () => {
    const influxQueries = queries.filter((q) => q.language === 'influxql' && !q.isVariable);
    assert.ok(influxQueries.length >= 15, `${influxQueries.length} InfluxQL panel queries`);
    for (const q of influxQueries) {
      await influxData(q, tenantA);
      if (q.text.includes('$tenant')) await influxData(q, tenantB);
    }
  });

  test('every PromQL panel query returns data from the scraped services', async () => {
    const promQueries = queries.filter((q) => q.language === 'promql');
    assert.ok(promQueries.length >= 15, `${promQueries.length} PromQL queries`);
    for (const q of promQueries) await promData(q);
  });

  test('fleet panels show the generated hosts and tenants and what the real collectors sampled', async () => {
    const byHost = await influxData(find('metering-fleet', 'CPU by host'), fleet);
    const hosts = byHost.map((s) => s.tags?.host);
    for (const h of ['node-a', 'node-b', world.hosts.docker, world.hosts.kvm]) {
      await waitFor(
        async () =>
          (await runInflux(find('metering-fleet', 'Memory by host'), fleet)).some(
            (s) => s.tags?.host === h,
          ),
        {
          timeoutMs: DATA_TIMEOUT_MS,
          description: `host ${h} on the fleet dashboard (so far ${hosts.join()})`,
        },
      );
    }
    const byTenant = await runInflux(find('metering-fleet', 'Memory by tenant'), fleet);
    for (const t of Object.values(world.tenants)) {
      assert.ok(
        byTenant.some((s) => s.tags?.tenant === t),
        `tenant ${t} on the fleet dashboard`,
      );
    }
    const vms = await influxData(find('metering-fleet', 'VMs reporting now'), fleet);
    assert.ok(lastValue(vms, 1) >= 3, `running VMs: ${JSON.stringify(vms)}`);
  });

  test('fleet counts mean reporting now; the busiest resources carry the collectors’ names', async () => {
    const now: Variables = { ...fleet, reporting: { kind: 'single', value: '30s' } };
    const count = async (title: string, variables: Variables): Promise<number> =>
      lastValue(await runInflux(find('metering-fleet', title), variables), 1) || 0;
    // The generated hosts stopped when the run started: seen in the range, not reporting now.
    await waitFor(
      async () =>
        (await count('Hosts reporting now', {
          ...fleet,
          host: { kind: 'multi', values: ['node-a', 'node-b'] },
        })) === 2 &&
        (await count('Hosts reporting now', {
          ...now,
          host: { kind: 'multi', values: ['node-a', 'node-b'] },
        })) === 0,
      {
        timeoutMs: DATA_TIMEOUT_MS,
        intervalMs: 1_000,
        description: 'node-a and node-b gone silent',
      },
    );
    const silent = find('metering-fleet', 'Hosts gone silent');
    assert.ok(silent.where.includes('"Hosts gone silent"'));
    // The real collectors' hosts report now; the live busybox container among the containers.
    await waitFor(
      async () =>
        (await count('Hosts reporting now', {
          ...now,
          host: { kind: 'multi', values: [world.hosts.docker, world.hosts.kvm] },
        })) === 2 &&
        (await count('Containers reporting now', {
          ...now,
          host: { kind: 'single', value: world.hosts.docker },
        })) >= 1 &&
        (await count('Containers reporting now', {
          ...now,
          host: { kind: 'single', value: world.hosts.docker },
          kind: { kind: 'single', value: 'vm' },
        })) === 0,
      {
        timeoutMs: DATA_TIMEOUT_MS,
        intervalMs: 1_000,
        description: 'the live collectors reporting now',
      },
    );
    const busiest = await influxData(find('metering-fleet', 'Busiest resources'), {
      ...fleet,
      tenant: { kind: 'single', value: world.tenants.live },
      host: { kind: 'single', value: world.hosts.docker },
    });
    const names = busiest.map((series) => series.tags?.name);
    assert.ok(names.includes(`${world.name}-busybox`), `the container's name in ${names.join()}`);
  });

  test('panel arithmetic matches the generated stream', async () => {
    // Each generated resource ran at a constant rate from startedAt to its last sample.
    const hours = (world.stream.lastMs - world.stream.startedAtMs) / 3_600_000;
    const ofTenant = world.resources.filter((r) => r.tenant === world.tenants.a);
    const sum = (series: InfluxSeries[]) =>
      series.flatMap((s) => s.values.map((row) => Number(row[1]))).reduce((a, b) => a + b, 0);
    const close = (actual: number, expected: number) =>
      Math.abs(actual - expected) <= 1e-6 * Math.max(1, expected);
    const expected = {
      cpuCoreHours: ofTenant.reduce((a, r) => a + r.cores, 0) * hours,
      memoryGibHours: (ofTenant.reduce((a, r) => a + r.memoryBytes, 0) / 2 ** 30) * hours,
      // Mean cores of each resource per interval, summed per host: the rates of what runs there.
      nodeACores: world.resources
        .filter((r) => r.host === 'node-a')
        .reduce((a, r) => a + r.cores, 0),
      nodeBCores: world.resources
        .filter((r) => r.host === 'node-b')
        .reduce((a, r) => a + r.cores, 0),
    };
    let actual = {};
    // Rating writes while this runs: wait until everything generated is in InfluxDB.
    await waitFor(
      async () => {
        const byHost = await runInflux(find('metering-fleet', 'CPU by host'), fleet);
        const hostValues = (host: string) =>
          byHost.find((s) => s.tags?.host === host)?.values.map((row) => Number(row[1])) ?? [];
        const now = {
          cpuCoreHours: sum(
            await runInflux(find('metering-tenant-usage', 'CPU core-hours'), tenantA),
          ),
          memoryGibHours: sum(
            await runInflux(find('metering-tenant-usage', 'Memory GiB-hours'), tenantA),
          ),
          nodeACores: hostValues('node-a'),
          nodeBCores: hostValues('node-b'),
        };
        actual = now;
        return (
          close(now.cpuCoreHours, expected.cpuCoreHours) &&
          close(now.memoryGibHours, expected.memoryGibHours) &&
          now.nodeACores.length > 0 &&
          now.nodeACores.every((v) => close(v, expected.nodeACores)) &&
          now.nodeBCores.length > 0 &&
          now.nodeBCores.every((v) => close(v, expected.nodeBCores))
        );
      },
      { timeoutMs: DATA_TIMEOUT_MS, intervalMs: 1_000, description: 'panel figures of the stream' },
    ).catch((error: unknown) => {
      throw new Error(`expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`, {
        cause: error,
      });
    });
  });

  test('pipeline panels count this run: four services scraped, samples rated, a dead letter', async () => {
    const serviceInstances = find('metering-pipeline', 'Service instances');
    await waitFor(
      async () => {
        const services = (await runProm(serviceInstances)).map((s) => s.metric.service);
        return ['billing-api', 'docker-collector', 'rating', 'vm-collector'].every((s) =>
          services.includes(s),
        );
      },
      { timeoutMs: DATA_TIMEOUT_MS, description: 'all four services on the instances stat' },
    );
    const samples = queries.find((q) => q.where.includes('"Samples/s" C'));
    assert.ok(samples);
    await waitFor(
      async () =>
        (await runProm(samples)).some(
          (s) => s.metric.outcome === 'rated' && promFiniteValues([s]).some((v) => v > 0),
        ),
      { timeoutMs: DATA_TIMEOUT_MS, description: 'rated samples/s above zero' },
    );
    // The event after Prometheus has seen the counter at 0: increase() needs both samples.
    const dlq = find('metering-pipeline', 'Dead-lettered (1 h)');
    await promData(dlq);
    await world.publishInvalid();
    await waitFor(async () => promFiniteValues(await runProm(dlq)).some((v) => v >= 0.9), {
      timeoutMs: DATA_TIMEOUT_MS,
      description: 'the dead-lettered message on the DLQ stat',
    });
  });

  test('unbilled panels count the tenant nobody registered, and the billing API names it', async () => {
    const tenants = find('metering-pipeline', 'Unbilled tenants (this month)');
    await waitFor(async () => promFiniteValues(await runProm(tenants)).some((v) => v >= 1), {
      timeoutMs: DATA_TIMEOUT_MS,
      description: `${world.tenants.live} counted on the unbilled tenants stat`,
    });
    const usage = queries.filter((q) => q.where.includes('"Unbilled usage (this month)"'));
    assert.equal(usage.length, 2, 'CPU and memory');
    await waitFor(
      async () =>
        (await Promise.all(usage.map(runProm))).some((s) => promFiniteValues(s).some((v) => v > 0)),
      { timeoutMs: DATA_TIMEOUT_MS, description: 'unbilled usage above zero' },
    );
    const period = new Date().toISOString().slice(0, 7);
    const page = await world.api<{ data: { tenantId: string; memoryGibSeconds: string }[] }>(
      'GET',
      `/v1/unbilled-usage?period=${period}`,
    );
    const ids = page.data.map((i) => i.tenantId);
    assert.ok(ids.includes(world.tenants.live), JSON.stringify(page));
    assert.ok(!ids.includes(world.tenants.a) && !ids.includes(world.tenants.b), ids.join());
  });

  test('every alerting rule runs against the scraped services, and every metric it names is there', async () => {
    for (const rule of loadAlertRules()) {
      // Valid PromQL against this Prometheus (it throws with the error otherwise).
      await promQL(world.prometheusUrl, rule.expr, { timeS: Date.now() / 1000 });
      for (const name of metricNamesOf(rule.expr)) {
        await waitFor(
          async () =>
            (
              await promQL(world.prometheusUrl, `count({__name__="${name}"})`, {
                timeS: Date.now() / 1000,
              })
            ).length > 0,
          { timeoutMs: DATA_TIMEOUT_MS, description: `${rule.alert}: ${name} scraped` },
        );
      }
    }
  });

  test('month-to-date panels agree with the draft invoices of the billing API', async () => {
    interface Invoice {
      period: string;
      status: string;
      lines: { meter: string; quantity: string; amount: string }[];
      total: string;
    }
    for (const tenant of [world.tenants.a, world.tenants.b]) {
      const variables: Variables = {
        tenant: { kind: 'single', value: tenant },
        resource: { kind: 'all', allValue: '.*' },
      };
      let detail = '';
      await waitFor(
        async () => {
          const charges = await runInflux(
            find('metering-tenant-usage', 'Month-to-date charges'),
            variables,
          );
          const latest = [...charges]
            .sort((x, y) => String(x.tags?.period).localeCompare(String(y.tags?.period)))
            .at(-1);
          const period = latest?.tags?.period;
          if (latest === undefined || period === undefined) return false;
          const amount = Number(latest.values.at(-1)?.[1]);
          const cpu = await runInflux(
            find('metering-tenant-usage', 'Month-to-date CPU'),
            variables,
          );
          const memory = await runInflux(
            find('metering-tenant-usage', 'Month-to-date memory'),
            variables,
          );
          const ofPeriod = (s: InfluxSeries[]) =>
            Number(s.find((x) => x.tags?.period === period)?.values.at(-1)?.[1]);
          const invoice = await world.api<Invoice>(
            'GET',
            `/v1/tenants/${tenant}/invoices/${period}`,
          );
          const quantity = (meter: string) =>
            invoice.lines
              .filter((l) => l.meter === meter)
              .reduce((sum, l) => sum + Number(l.quantity), 0);
          detail = JSON.stringify({
            amount,
            cpu: ofPeriod(cpu),
            memory: ofPeriod(memory),
            invoice,
          });
          // Each invoice line is rounded once to the cent; the panels are unrounded.
          const tolerance = 0.005 * invoice.lines.length + 1e-6;
          return (
            invoice.status === 'draft' &&
            amount > 0 &&
            Math.abs(amount - Number(invoice.total)) <= tolerance &&
            Math.abs(ofPeriod(memory) - quantity('memory')) <= 2e-6 &&
            (!invoice.lines.some((l) => l.meter === 'cpu') ||
              Math.abs(ofPeriod(cpu) - quantity('cpu')) <= 2e-6)
          );
        },
        {
          timeoutMs: DATA_TIMEOUT_MS,
          intervalMs: 1_000,
          description: `month-to-date of ${tenant} = its draft invoice`,
        },
      ).catch((error: unknown) => {
        throw new Error(`${tenant}: ${detail}`, { cause: error });
      });
    }
  });
});
