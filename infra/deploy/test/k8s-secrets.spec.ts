import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { containerEnv } from '../src/container-env';
import { DEV_SECRET_PREFIX, EXTERNAL_SECRETS, policyProblems } from '../src/k8s-policy';
import { type JsonObject, type Manifest, renderKustomization } from '../src/kustomize';
import { REPO_ROOT } from '../src/workspaces';
import { allServiceFacts } from './service-expectations';

// Secrets in the manifests: production ships none and runs with NODE_ENV=production (the
// services then refuse weak secrets at boot); the local overlay's development values are marked
// and refused in production (service-settings.spec.ts); InfluxDB runs with authentication and its
// clients' credentials come from Secrets.
const services = allServiceFacts();

function render(overlay: string): Manifest[] {
  return renderKustomization(join(REPO_ROOT, 'k8s/overlays', overlay));
}

function files(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(REPO_ROOT, join(e.parentPath, e.name)));
}

const workload = (manifests: Manifest[], kind: string, name: string): Manifest => {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  assert.ok(found, `${kind} ${name}`);
  return found;
};

describe('secrets in the manifests', () => {
  test('production ships no Secret and sets NODE_ENV=production for every service', () => {
    const manifests = render('production');
    assert.deepEqual(
      manifests.filter((m) => m.kind === 'Secret').map((m) => m.metadata.name),
      [],
    );
    for (const name of services.keys()) {
      const kind = name.endsWith('-collector') ? 'DaemonSet' : 'Deployment';
      assert.equal(
        containerEnv(manifests, workload(manifests, kind, name)).get('NODE_ENV'),
        'production',
        name,
      );
    }
    assert.deepEqual(policyProblems(manifests, services), []);
  });

  test('production refers only to Secrets made outside the repo (documented) or by Strimzi', () => {
    const manifests = render('production');
    const referenced = new Set<string>();
    const walk = (node: unknown, key?: string): void => {
      if (Array.isArray(node)) node.forEach((n) => walk(n));
      else if (typeof node === 'object' && node !== null) {
        const o = node as Record<string, unknown>;
        if (
          key === 'secretKeyRef' ||
          key === 'secretRef' ||
          (key === 'secret' && typeof o.name === 'string')
        ) {
          referenced.add(String(o.name));
        }
        if (key === 'secret' && typeof o.secretName === 'string') referenced.add(o.secretName);
        for (const [k, v] of Object.entries(o)) walk(v, k);
      }
    };
    walk(manifests);
    const users = manifests.filter((m) => m.kind === 'KafkaUser').map((m) => m.metadata.name);
    const operatorMade = new Set([...users, 'metering-kafka-cluster-ca-cert']);
    const external = [...referenced].filter((n) => !operatorMade.has(n)).sort();
    assert.deepEqual(external, Object.keys(EXTERNAL_SECRETS).sort());
    const operations = readFileSync(join(REPO_ROOT, 'docs/operations.md'), 'utf8');
    for (const name of external)
      assert.ok(operations.includes(`\`${name}\``), `${name} undocumented`);
  });

  test('no placeholder secret anywhere in k8s/; development values only in overlays/local', () => {
    for (const file of files('k8s')) {
      const text = readFileSync(join(REPO_ROOT, file), 'utf8');
      assert.doesNotMatch(text, /PLACEHOLDER-|replace-me|change-?me/i, file);
      if (!file.startsWith('k8s/overlays/local/'))
        assert.ok(!text.includes(DEV_SECRET_PREFIX), file);
    }
  });

  test('local: every Secret value is a marked development value, with NODE_ENV=development', () => {
    const manifests = render('local');
    const secrets = manifests.filter((m) => m.kind === 'Secret');
    assert.deepEqual(
      secrets.map((s) => s.metadata.name.replace(/-[a-z0-9]{10}$/, '')).sort(),
      // …and the one node's sample key, which a real node holds in /etc/metering (ADR 0010); no
      // seller: outside production billing-api prints a marked sample seller.
      [...Object.keys(EXTERNAL_SECRETS), 'metering-host-key-dev']
        .filter((n) => n !== 'billing-api-seller')
        .sort(),
    );
    for (const secret of secrets) {
      for (const [key, value] of Object.entries(secret.data as Record<string, string>)) {
        const text = Buffer.from(value, 'base64').toString('utf8');
        assert.ok(
          key === 'username' || text.startsWith(DEV_SECRET_PREFIX),
          `${secret.metadata.name} ${key}`,
        );
      }
    }
    const rating = workload(manifests, 'Deployment', 'rating');
    assert.equal(containerEnv(manifests, rating).get('NODE_ENV'), 'development');
  });

  for (const overlay of ['local', 'production']) {
    test(`${overlay}: InfluxDB requires authentication; rating and Grafana log in from Secrets`, () => {
      const manifests = render(overlay);
      const env = (kind: string, name: string): JsonObject[] => {
        const spec = (
          workload(manifests, kind, name).spec as {
            template: { spec: { containers: { env: JsonObject[] }[] } };
          }
        ).template.spec;
        return spec.containers[0]!.env;
      };
      const secretOf = (entries: JsonObject[], name: string): string | undefined => {
        const entry = entries.find((e) => e.name === name);
        const ref = (
          entry?.valueFrom as { secretKeyRef?: { name: string; key: string } } | undefined
        )?.secretKeyRef;
        return ref === undefined
          ? undefined
          : `${ref.name.replace(/-[a-z0-9]{10}$/, '')}/${ref.key}`;
      };
      const influx = env('StatefulSet', 'influxdb');
      assert.equal(influx.find((e) => e.name === 'INFLUXDB_HTTP_AUTH_ENABLED')?.value, 'true');
      assert.equal(secretOf(influx, 'INFLUXDB_ADMIN_USER'), 'influxdb-admin/username');
      assert.equal(secretOf(influx, 'INFLUXDB_ADMIN_PASSWORD'), 'influxdb-admin/password');
      assert.equal(secretOf(influx, 'INFLUXDB_WRITE_USER'), 'influxdb-rating/username');
      assert.equal(secretOf(influx, 'INFLUXDB_WRITE_USER_PASSWORD'), 'influxdb-rating/password');
      assert.equal(secretOf(influx, 'INFLUXDB_READ_USER'), 'influxdb-grafana/username');
      assert.equal(secretOf(influx, 'INFLUXDB_READ_USER_PASSWORD'), 'influxdb-grafana/password');
      const rating = env('Deployment', 'rating');
      assert.equal(secretOf(rating, 'INFLUX_USERNAME'), 'influxdb-rating/username');
      assert.equal(secretOf(rating, 'INFLUX_PASSWORD'), 'influxdb-rating/password');
      const grafana = env('Deployment', 'grafana');
      assert.equal(secretOf(grafana, 'INFLUXDB_READ_USER'), 'influxdb-grafana/username');
      assert.equal(secretOf(grafana, 'INFLUXDB_READ_USER_PASSWORD'), 'influxdb-grafana/password');
      const datasources = manifests.find(
        (m) => m.kind === 'ConfigMap' && m.metadata.name.startsWith('grafana-datasources'),
      )!;
      const provisioning = parse(
        (datasources.data as Record<string, string>)['datasources.yaml']!,
      ) as {
        datasources: { uid: string; user?: string; secureJsonData?: { password?: string } }[];
      };
      const source = provisioning.datasources.find((d) => d.uid === 'influxdb')!;
      assert.equal(source.user, '${INFLUXDB_READ_USER}');
      assert.equal(source.secureJsonData?.password, '${INFLUXDB_READ_USER_PASSWORD}');
    });
  }
});
