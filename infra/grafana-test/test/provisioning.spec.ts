import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  type DataSourceRefJson,
  REPO_ROOT,
  loadDashboards,
  panelsOf,
} from '../src/dashboard.loader';
import {
  type DatasourcesFile,
  type ProvidersFile,
  envReferences,
  loadDatasourceFiles,
  loadProviderFiles,
} from '../src/provisioning.loader';

const DASHBOARDS_PATH = '/var/lib/grafana/dashboards';
const datasourceFiles = loadDatasourceFiles();
const providerFiles = loadProviderFiles();
const datasources = datasourceFiles.flatMap((f) => f.doc.datasources);

const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { environment?: Record<string, string>; volumes?: string[] }>;
};
const k8sFile = <T>(name: string): T =>
  parse(readFileSync(join(REPO_ROOT, 'k8s', 'base', 'grafana', name), 'utf8')) as T;

describe('Grafana provisioning (infra/grafana/provisioning)', () => {
  test('datasources: InfluxDB (InfluxQL) uid influxdb and Prometheus uid prometheus, from the environment', () => {
    assert.ok(datasourceFiles.length > 0);
    for (const f of datasourceFiles) assert.equal(f.doc.apiVersion, 1, f.file);
    assert.deepEqual(datasources.map((d) => d.uid).sort(), ['influxdb', 'prometheus']);
    const influx = datasources.find((d) => d.uid === 'influxdb');
    const prometheus = datasources.find((d) => d.uid === 'prometheus');
    assert.equal(influx?.type, 'influxdb');
    assert.equal(influx?.access, 'proxy');
    assert.equal(influx?.url, '${METERING_INFLUXDB_URL}');
    assert.equal(influx?.jsonData?.version, 'InfluxQL');
    assert.equal(influx?.jsonData?.dbName, '${METERING_INFLUXDB_DB}');
    assert.equal(prometheus?.type, 'prometheus');
    assert.equal(prometheus?.access, 'proxy');
    assert.equal(prometheus?.url, '${METERING_PROMETHEUS_URL}');
    assert.equal(
      datasources.filter((d) => d.isDefault === true).length,
      1,
      'one default datasource',
    );
  });

  test('every ${VARIABLE} of the provisioning is set for Grafana in docker-compose.yml', () => {
    const env = compose.services.grafana?.environment ?? {};
    const refs = [...datasourceFiles, ...providerFiles].flatMap((f) => envReferences(f.text));
    assert.deepEqual([...refs].sort(), [
      'METERING_INFLUXDB_DB',
      'METERING_INFLUXDB_URL',
      'METERING_PROMETHEUS_URL',
    ]);
    for (const name of refs)
      assert.ok(env[name] !== undefined && env[name] !== '', `compose grafana lacks ${name}`);
  });

  test('Kubernetes provisions the same datasource uids and types', () => {
    const k8s = k8sFile<DatasourcesFile>('datasources.yaml');
    const pairs = (list: readonly { uid: string; type: string }[]) =>
      list.map((d) => `${d.uid}:${d.type}`).sort();
    assert.deepEqual(pairs(k8s.datasources), pairs(datasources));
  });

  test('dashboard provider reads the folder the dashboards are mounted at', () => {
    const providers = providerFiles.flatMap((f) => f.doc.providers);
    for (const f of providerFiles) assert.equal(f.doc.apiVersion, 1, f.file);
    assert.equal(providers.length, 1);
    const [provider] = providers;
    assert.equal(provider?.type, 'file');
    assert.equal(provider?.options.path, DASHBOARDS_PATH);
    assert.equal(provider?.allowUiUpdates, false, 'the repository is the source of the dashboards');
    const volumes = compose.services.grafana?.volumes ?? [];
    assert.ok(volumes.includes(`./infra/grafana/dashboards:${DASHBOARDS_PATH}:ro`), volumes.join());
    assert.ok(
      volumes.includes('./infra/grafana/provisioning:/etc/grafana/provisioning:ro'),
      volumes.join(),
    );
    const k8s = k8sFile<ProvidersFile>('dashboard-providers.yaml');
    assert.deepEqual(
      k8s.providers.map((p) => p.options.path),
      [DASHBOARDS_PATH],
    );
  });

  test('every datasource a panel, target or variable names is provisioned, with its type', () => {
    const known = new Map(datasources.map((d) => [d.uid, d.type]));
    const check = (where: string, ref: DataSourceRefJson | undefined) => {
      assert.ok(ref?.uid !== undefined, `${where}: datasource by uid`);
      assert.equal(known.get(ref.uid), ref.type, `${where}: datasource ${ref.uid}`);
    };
    let refs = 0;
    for (const d of loadDashboards()) {
      for (const p of panelsOf(d.json)) {
        if (p.type === 'row' || p.type === 'text') continue;
        check(`${d.file} panel ${p.id}`, p.datasource);
        for (const t of p.targets ?? []) {
          check(`${d.file} panel ${p.id} ${t.refId}`, t.datasource);
          refs += 1;
        }
      }
      for (const v of d.json.templating?.list ?? []) {
        if (v.type === 'query') check(`${d.file} $${v.name}`, v.datasource);
      }
    }
    assert.ok(refs > 20, `${refs} targets`);
  });
});
