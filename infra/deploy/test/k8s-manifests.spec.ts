import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { HEALTH_CHECK_TIMEOUT_SECONDS, policyProblems } from '../src/k8s-policy';
import { unknownFieldProblems } from '../src/k8s-unknown-fields';
import { schemaProblems } from '../src/k8s-validation';
import { type Manifest, podSpecs, renderKustomization } from '../src/kustomize';
import { REPO_ROOT } from '../src/workspaces';
import { allServiceFacts } from './service-expectations';

// Every overlay rendered (src/kustomize.ts) and every manifest validated against its schema:
// Kubernetes' own (kubernetes-models), CloudNativePG's CRD (@kubernetes-models/cloudnative-pg),
// Strimzi's from src/strimzi.schema.ts; unknown fields along the models' TypeScript types
// (src/k8s-unknown-fields.ts); then the product's rules (src/k8s-policy.ts).
const OVERLAYS = ['local', 'production'];
const services = allServiceFacts();

function render(overlay: string): Manifest[] {
  return renderKustomization(join(REPO_ROOT, 'k8s/overlays', overlay));
}

async function allSchemaProblems(manifests: readonly Manifest[]): Promise<string[]> {
  return (await Promise.all(manifests.map(schemaProblems))).flat();
}

describe('k8s/monitoring (Prometheus Operator)', () => {
  const monitoring = (): Manifest[] => renderKustomization(join(REPO_ROOT, 'k8s/monitoring'));
  const of = (kind: string): Manifest => {
    const found = monitoring().find((m) => m.kind === kind);
    assert.ok(found, `${kind} missing`);
    return found;
  };

  test('a PodMonitor and a PrometheusRule, valid against the operator’s schemas, in metering', async () => {
    const manifests = monitoring();
    assert.deepEqual(manifests.map((m) => m.kind).sort(), ['PodMonitor', 'PrometheusRule']);
    assert.deepEqual(await allSchemaProblems(manifests), []);
    for (const m of manifests) assert.equal(m.metadata.namespace, 'metering');
  });

  test('the schema check can fail: a misspelt field type is caught', async () => {
    const monitor = of('PodMonitor');
    (monitor.spec as Record<string, unknown>).podMetricsEndpoints = 'http';
    assert.notDeepEqual(await allSchemaProblems([monitor]), []);
  });

  test('the PrometheusRule holds exactly the groups of infra/prometheus/alerts.yml', () => {
    const alerts = parse(readFileSync(join(REPO_ROOT, 'infra/prometheus/alerts.yml'), 'utf8')) as {
      groups: unknown;
    };
    assert.deepEqual((of('PrometheusRule').spec as { groups: unknown }).groups, alerts.groups);
  });

  test('the PodMonitor scrapes every service, on its http port, with job = the service’s name', () => {
    const monitor = of('PodMonitor').spec as {
      jobLabel: string;
      selector: {
        matchLabels: Record<string, string>;
        matchExpressions: { key: string; operator: string; values: string[] }[];
      };
      podMetricsEndpoints: { port: string; path: string }[];
    };
    const selects = (labels: Record<string, string>): boolean =>
      Object.entries(monitor.selector.matchLabels).every(([k, v]) => labels[k] === v) &&
      monitor.selector.matchExpressions.every(
        (e) => e.operator === 'In' && e.values.includes(labels[e.key] ?? ''),
      );
    const rendered = render('production');
    const selected: string[] = [];
    for (const m of rendered) {
      for (const spec of podSpecs(m)) {
        const labels =
          (m.spec as { template?: { metadata?: { labels?: Record<string, string> } } }).template
            ?.metadata?.labels ?? {};
        if (!selects(labels)) continue;
        selected.push(m.metadata.name);
        assert.equal(labels[monitor.jobLabel], m.metadata.name, 'job = the service');
        const ports = (spec.containers as { ports?: { name?: string }[] }[]).flatMap(
          (c) => c.ports ?? [],
        );
        for (const endpoint of monitor.podMetricsEndpoints) {
          assert.ok(
            ports.some((p) => p.name === endpoint.port),
            `${m.metadata.name}: no port ${endpoint.port}`,
          );
          assert.equal(endpoint.path, '/metrics');
        }
      }
    }
    assert.deepEqual(selected.sort(), [...services.keys()].sort());
  });
});

describe('k8s manifests', () => {
  for (const overlay of OVERLAYS) {
    test(`${overlay}: renders the whole product`, () => {
      const kinds = new Set(render(overlay).map((m) => `${m.apiVersion} ${m.kind}`));
      for (const kind of [
        'v1 Namespace',
        'apps/v1 DaemonSet',
        'apps/v1 Deployment',
        'apps/v1 StatefulSet',
        'autoscaling/v2 HorizontalPodAutoscaler',
        'v1 ConfigMap',
        'networking.k8s.io/v1 NetworkPolicy',
        'kafka.strimzi.io/v1beta2 Kafka',
        'kafka.strimzi.io/v1beta2 KafkaNodePool',
        'kafka.strimzi.io/v1beta2 KafkaTopic',
        'kafka.strimzi.io/v1beta2 KafkaUser',
        'postgresql.cnpg.io/v1 Cluster',
        // Development values in local only; production refers to Secrets made outside the repo.
        ...(overlay === 'local' ? ['v1 Secret'] : []),
      ]) {
        assert.ok(kinds.has(kind), `${kind} missing`);
      }
    });

    test(`${overlay}: every manifest is valid against its schema`, async () => {
      assert.deepEqual(await allSchemaProblems(render(overlay)), []);
    });

    test(`${overlay}: probes, security contexts, host mounts, settings, references, sizing`, () => {
      assert.deepEqual(policyProblems(render(overlay), services), []);
    });
  }

  test('every workload of every overlay: startup and liveness on /livez, readiness on /readyz, patient enough', () => {
    interface Probe {
      httpGet?: { path?: string; port?: unknown };
      periodSeconds?: number;
      timeoutSeconds?: number;
      failureThreshold?: number;
    }
    type ProbeName = 'startupProbe' | 'readinessProbe' | 'livenessProbe';
    for (const overlay of OVERLAYS) {
      const workloads = render(overlay).filter(
        (m) => ['Deployment', 'DaemonSet'].includes(m.kind) && services.has(m.metadata.name),
      );
      assert.deepEqual(workloads.map((m) => m.metadata.name).sort(), [...services.keys()].sort());
      for (const m of workloads) {
        const what = `${overlay} ${m.kind} ${m.metadata.name}`;
        const containers = podSpecs(m)[0]?.containers as Partial<Record<ProbeName, Probe>>[];
        const { startupProbe, readinessProbe, livenessProbe } = containers[0] ?? {};
        const window = (p: Probe): number => (p.periodSeconds ?? 10) * (p.failureThreshold ?? 3);
        assert.equal(startupProbe?.httpGet?.path, '/livez', what);
        assert.equal(livenessProbe?.httpGet?.path, '/livez', what);
        assert.equal(readinessProbe?.httpGet?.path, '/readyz', what);
        for (const probe of [startupProbe, readinessProbe, livenessProbe]) {
          assert.equal(probe?.httpGet?.port, 'http', what);
          assert.ok((probe?.timeoutSeconds ?? 1) > HEALTH_CHECK_TIMEOUT_SECONDS, what);
        }
        // A minute of silence before a restart; an outage noticed within 30 s; two minutes to start.
        assert.ok(window(livenessProbe) >= 60, `${what}: liveness ${window(livenessProbe)} s`);
        assert.ok(window(readinessProbe) <= 30, `${what}: readiness ${window(readinessProbe)} s`);
        assert.ok(window(startupProbe) >= 120, `${what}: startup ${window(startupProbe)} s`);
      }
    }
  });

  test('the probe rules reject a dependency check as liveness and impatient timings', () => {
    const manifests = render('local');
    const collector = manifests.find(
      (m) => m.kind === 'DaemonSet' && m.metadata.name === 'vm-collector',
    )!;
    const container = podSpecs(collector)[0]!.containers as Record<string, unknown>[];
    const probes = container[0]!;
    probes.livenessProbe = { httpGet: { path: '/healthz', port: 'http' }, failureThreshold: 1 };
    probes.readinessProbe = {
      httpGet: { path: '/readyz', port: 9999 },
      timeoutSeconds: 5,
      periodSeconds: 60,
    };
    delete probes.startupProbe;
    const problems = policyProblems(manifests, services).filter((p) => p.includes('vm-collector'));
    assert.deepEqual(problems.sort(), [
      'DaemonSet metering/vm-collector: livenessProbe gives up after 10 s (periodSeconds × failureThreshold), under 60 s',
      'DaemonSet metering/vm-collector: livenessProbe must GET /livez',
      'DaemonSet metering/vm-collector: livenessProbe timeoutSeconds 1 must exceed the 3 s a health check may take',
      'DaemonSet metering/vm-collector: no startupProbe',
      'DaemonSet metering/vm-collector: readinessProbe notices an outage after 180 s (periodSeconds × failureThreshold), over 30 s',
      'DaemonSet metering/vm-collector: readinessProbe periodSeconds 60 > 10',
      "DaemonSet metering/vm-collector: readinessProbe port 9999 is not the service's port",
    ]);
  });

  test('no unknown fields in either overlay or k8s/monitoring (the API server rejects them)', () => {
    const all = [
      ...OVERLAYS.flatMap(render),
      ...renderKustomization(join(REPO_ROOT, 'k8s/monitoring')),
    ];
    assert.deepEqual(unknownFieldProblems(all), []);
  });

  test('misspelt fields are caught, in Kubernetes and CloudNativePG kinds alike', () => {
    const manifests = render('production');
    const rating = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === 'rating')!;
    const container = (
      rating.spec as { template: { spec: { containers: Record<string, unknown>[] } } }
    ).template.spec.containers[0]!;
    container.readinesProbe = container.readinessProbe;
    const cluster = manifests.find((m) => m.kind === 'Cluster')!;
    (cluster.spec as Record<string, unknown>).instanses = 3;
    assert.deepEqual(unknownFieldProblems(manifests), [
      'Cluster metering/metering-pg: /spec/instanses: unknown field',
      'Deployment metering/rating: /spec/template/spec/containers/0/readinesProbe: unknown field',
    ]);
  });

  test('the overlays differ where they should', () => {
    const replicas = (overlay: string, kind: string, name: string): unknown =>
      (
        render(overlay).find((m) => m.kind === kind && m.metadata.name === name)?.spec as
          { replicas?: unknown } | undefined
      )?.replicas;
    assert.equal(replicas('local', 'Deployment', 'rating'), 1);
    assert.equal(replicas('production', 'Deployment', 'rating'), 6);
    assert.equal(replicas('local', 'KafkaNodePool', 'dual-role'), 1);
    assert.equal(replicas('production', 'KafkaNodePool', 'dual-role'), 3);
  });

  test('the schemas reject broken manifests (each fixture document once)', async () => {
    const docs = parseAllDocuments(
      readFileSync(join(REPO_ROOT, 'infra/deploy/test/fixtures/broken-manifests.yaml'), 'utf8'),
    ).map((d) => d.toJS() as Manifest);
    assert.equal(docs.length, 8);
    for (const doc of docs) {
      const problems = await schemaProblems(doc);
      assert.ok(problems.length > 0, `${doc.kind} ${doc.metadata.name} was accepted`);
    }
    const topic = await schemaProblems(docs.find((d) => d.metadata.name === 'broken-topic')!);
    assert.match(topic.join(), /partitons/);
  });

  test('the rules reject a production render with the classic mistakes', () => {
    const manifests = render('production');
    const rating = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === 'rating')!;
    const spec = rating.spec as {
      replicas: number;
      template: { spec: { containers: Record<string, unknown>[] } };
    };
    spec.replicas = 13;
    const container = spec.template.spec.containers[0]!;
    container.readinessProbe = { httpGet: { path: '/health', port: 'http' } };
    container.livenessProbe = { httpGet: { path: '/readyz', port: 'http' }, timeoutSeconds: 5 };
    (container.securityContext as Record<string, unknown>).readOnlyRootFilesystem = false;
    (container.env as { name: string; value?: string }[]).push({
      name: 'KAFKA_BROKER',
      value: 'x',
    });
    const collector = manifests.find(
      (m) => m.kind === 'DaemonSet' && m.metadata.name === 'docker-collector',
    )!;
    const pod = (collector.spec as { template: { spec: { volumes: unknown[] } } }).template.spec;
    pod.volumes.push({ name: 'root', hostPath: { path: '/' } });
    // A Secret with a real-looking value added to the render, and a reference to one nobody makes.
    manifests.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'billing-api-admin', namespace: 'metering' },
      data: { ADMIN_API_KEY: Buffer.from('a-real-looking-key').toString('base64') },
    });
    (container.env as { name: string; valueFrom?: unknown }[]).push({
      name: 'INFLUX_TOKEN',
      valueFrom: { secretKeyRef: { name: 'influxdb-token', key: 'token' } },
    });
    // The collector given the engine's socket directly again.
    const collectorContainer = (
      collector.spec as { template: { spec: { containers: { volumeMounts: unknown[] }[] } } }
    ).template.spec.containers[0]!;
    collectorContainer.volumeMounts.push({
      name: 'docker-socket',
      mountPath: '/var/run/docker.sock',
      readOnly: true,
    });

    const problems = policyProblems(manifests, services).join('\n');
    for (const expected of [
      /rating: replicas 13 must be <= metering.samples.v1's 12 partitions/,
      /Deployment metering\/rating: readinessProbe must GET \/readyz/,
      /Deployment metering\/rating: livenessProbe must GET \/livez/,
      /Deployment metering\/rating: readOnlyRootFilesystem must be true/,
      /KAFKA_BROKER is not a setting of rating/,
      /DaemonSet metering\/docker-collector: host paths/,
      /ADMIN_API_KEY is not a DEV-ONLY-insecure- value/,
      /Deployment metering\/rating: Secret influxdb-token not found/,
      /container docker-collector mounts host path \/var\/run\/docker.sock; only docker-socket-proxy may/,
      /DaemonSet metering\/docker-collector: container docker-collector mounts the engine's socket/,
    ]) {
      assert.match(problems, expected);
    }
  });
});
