import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type JsonObject, type Manifest, podSpecs, renderKustomization } from '../src/kustomize';
import {
  allowingPolicies,
  allows,
  type Connection,
  type Endpoint,
  inCidr,
  isDefaultDeny,
  type PodEndpoint,
  selects,
} from '../src/network-policy';
import { REPO_ROOT } from '../src/workspaces';

// The NetworkPolicies of k8s/base/network-policies.yaml, evaluated (src/network-policy.ts) on each
// overlay's render: a default deny in both directions, then every connection the product needs
// allowed and the ones it does not need refused.
const OVERLAYS = ['local', 'production'];
const NS = 'metering';

function render(overlay: string): Manifest[] {
  return renderKustomization(join(REPO_ROOT, 'k8s/overlays', overlay));
}

/** The pods of the render's workloads, with their template labels and named ports. */
function workloadPods(manifests: readonly Manifest[]): Map<string, PodEndpoint> {
  const pods = new Map<string, PodEndpoint>();
  for (const m of manifests) {
    if (!['Deployment', 'DaemonSet', 'StatefulSet'].includes(m.kind)) continue;
    const template = (m.spec as { template?: { metadata?: { labels?: Record<string, string> } } })
      .template;
    const ports: Record<string, number> = {};
    for (const spec of podSpecs(m)) {
      for (const c of [...((spec.containers as JsonObject[]) ?? [])]) {
        for (const p of (c.ports as { name?: string; containerPort: number }[] | undefined) ?? []) {
          if (p.name !== undefined) ports[p.name] = p.containerPort;
        }
      }
    }
    pods.set(m.metadata.name, {
      kind: 'pod',
      name: m.metadata.name,
      namespace: NS,
      labels: template?.metadata?.labels ?? {},
      ports,
    });
  }
  return pods;
}

const pod = (name: string, namespace: string, labels: Record<string, string>): PodEndpoint => ({
  kind: 'pod',
  name,
  namespace,
  labels,
});

/** Pods the operators create, as Strimzi 0.48 and CloudNativePG label them, and the world around. */
const kafka = pod('metering-kafka-dual-role-0', NS, {
  'strimzi.io/cluster': 'metering-kafka',
  'strimzi.io/kind': 'Kafka',
  'strimzi.io/name': 'metering-kafka-kafka',
  'strimzi.io/pool-name': 'dual-role',
  'strimzi.io/broker-role': 'true',
  'strimzi.io/controller-role': 'true',
});
const entityOperator = pod('metering-kafka-entity-operator', NS, {
  'strimzi.io/cluster': 'metering-kafka',
  'strimzi.io/kind': 'Kafka',
  'strimzi.io/name': 'metering-kafka-entity-operator',
});
const postgres = pod('metering-pg-1', NS, {
  'cnpg.io/cluster': 'metering-pg',
  'cnpg.io/podRole': 'instance',
});
const strimziOperator = pod('strimzi-cluster-operator', 'strimzi', {
  'strimzi.io/kind': 'cluster-operator',
  name: 'strimzi-cluster-operator',
});
const cnpgOperator = pod('cnpg-controller-manager', 'cnpg-system', {
  'app.kubernetes.io/name': 'cloudnative-pg',
});
const dns = pod('coredns', 'kube-system', { 'k8s-app': 'kube-dns' });
const prometheus = pod('prometheus-k8s-0', 'monitoring', {
  'app.kubernetes.io/name': 'prometheus',
});
const intruder = pod('intruder', 'other', { app: 'intruder' });
const debugPod = pod('debug', NS, { run: 'debug' });
const apiServer: Endpoint = { kind: 'external', name: 'kube-apiserver', ip: '10.96.0.1' };
const hypervisor: Endpoint = { kind: 'external', name: 'kvm-07', ip: '192.0.2.10' };
const internet: Endpoint = { kind: 'external', name: 'internet', ip: '203.0.113.5' };

function describeConnection(c: Connection): string {
  return `${c.from.name} → ${c.to.name}:${c.port}/${c.protocol ?? 'TCP'}`;
}

function flows(pods: Map<string, PodEndpoint>): { allowed: Connection[]; refused: Connection[] } {
  const get = (name: string): PodEndpoint => {
    const found = pods.get(name);
    assert.ok(found, `${name}: no workload`);
    return found;
  };
  const [dockerCollector, vmCollector, rating, billing, grafana, influx] = [
    'docker-collector',
    'vm-collector',
    'rating',
    'billing-api',
    'grafana',
    'influxdb',
  ].map(get) as [PodEndpoint, PodEndpoint, PodEndpoint, PodEndpoint, PodEndpoint, PodEndpoint];
  const c = (from: Endpoint, to: Endpoint, port: number, protocol?: 'UDP'): Connection => ({
    from,
    to,
    port,
    ...(protocol === undefined ? {} : { protocol }),
  });
  const everyone = [
    dockerCollector,
    vmCollector,
    rating,
    billing,
    grafana,
    influx,
    kafka,
    entityOperator,
    postgres,
  ];
  const allowed: Connection[] = [
    ...everyone.flatMap((p) => [c(p, dns, 53, 'UDP'), c(p, dns, 53)]),
    c(dockerCollector, kafka, 9093),
    c(vmCollector, kafka, 9093),
    c(rating, kafka, 9093),
    c(rating, postgres, 5432),
    c(rating, influx, 8086),
    c(billing, postgres, 5432),
    c(billing, kafka, 9093),
    c(internet, billing, 8080),
    c(grafana, influx, 8086),
    c(grafana, prometheus, 9090),
    c(internet, grafana, 3000),
    c(prometheus, dockerCollector, 9101),
    c(prometheus, vmCollector, 9102),
    c(prometheus, rating, 9103),
    c(prometheus, billing, 8080),
    c(kafka, kafka, 9090),
    c(kafka, kafka, 9091),
    c(strimziOperator, kafka, 9090),
    c(strimziOperator, kafka, 9091),
    c(strimziOperator, kafka, 8443),
    c(entityOperator, kafka, 9091),
    c(entityOperator, apiServer, 443),
    c(hypervisor, kafka, 9094),
    c(postgres, postgres, 5432),
    c(postgres, postgres, 8000),
    c(cnpgOperator, postgres, 8000),
    c(postgres, apiServer, 443),
  ];
  const refused: Connection[] = [
    ...[dockerCollector, vmCollector].flatMap((p) => [
      c(p, postgres, 5432),
      c(p, influx, 8086),
      c(p, billing, 8080),
      c(p, kafka, 9091),
      c(p, kafka, 9090),
      c(p, internet, 443),
      c(p, apiServer, 443),
    ]),
    c(rating, billing, 8080),
    c(rating, kafka, 9091),
    c(rating, internet, 443),
    c(billing, influx, 8086),
    c(billing, kafka, 9091),
    c(grafana, postgres, 5432),
    c(grafana, kafka, 9093),
    c(influx, internet, 443),
    c(kafka, internet, 443),
    c(kafka, apiServer, 443),
    c(entityOperator, kafka, 9093),
    c(intruder, kafka, 9093),
    c(intruder, kafka, 9091),
    c(intruder, postgres, 5432),
    c(intruder, influx, 8086),
    c(intruder, rating, 9103),
    c(debugPod, kafka, 9093),
    c(debugPod, postgres, 5432),
    c(hypervisor, kafka, 9093),
    c(hypervisor, influx, 8086),
    c(hypervisor, postgres, 5432),
    c(prometheus, influx, 8086),
    c(prometheus, postgres, 5432),
  ];
  // Any pod of the namespace may resolve names, a stray one too; nothing more.
  return { allowed: [...allowed, c(debugPod, dns, 53, 'UDP')], refused };
}

describe('NetworkPolicies', () => {
  for (const overlay of OVERLAYS) {
    const manifests = render(overlay);
    const policies = manifests.filter((m) => m.kind === 'NetworkPolicy');
    const pods = workloadPods(manifests);

    test(`${overlay}: a default deny for ingress and egress in the namespace`, () => {
      const denies = policies.filter(isDefaultDeny);
      assert.equal(denies.length, 1);
      assert.equal(denies[0]?.metadata.namespace, NS);
    });

    test(`${overlay}: every workload and every operator-made pod has a policy allowing its traffic`, () => {
      for (const p of [...pods.values(), kafka, entityOperator, postgres]) {
        const selected = [
          ...allowingPolicies(policies, p, 'Ingress'),
          ...allowingPolicies(policies, p, 'Egress'),
        ].filter((spec) => Object.keys(spec.podSelector as object).length > 0);
        assert.ok(selected.length > 0, `${p.name}: no policy of its own`);
      }
    });

    test(`${overlay}: the connections the product needs are allowed, the others refused`, () => {
      const { allowed, refused } = flows(pods);
      const wronglyRefused = allowed.filter((c) => !allows(policies, c)).map(describeConnection);
      const wronglyAllowed = refused.filter((c) => allows(policies, c)).map(describeConnection);
      assert.deepEqual(wronglyRefused, []);
      assert.deepEqual(wronglyAllowed, []);
    });
  }

  test('the check can fail: without the default deny, a pod no policy names is open', () => {
    const all = render('production').filter((m) => m.kind === 'NetworkPolicy');
    const withoutDeny = all.filter((m) => m.metadata.name !== 'default-deny');
    const stray = { from: intruder, to: debugPod, port: 8080 };
    assert.equal(allows(all, stray), false);
    assert.equal(allows(withoutDeny, stray), true);
    assert.equal(withoutDeny.filter(isDefaultDeny).length, 0);
  });

  test('the check can fail: without rating’s policy, rating reaches nothing but DNS', () => {
    const manifests = render('production').filter(
      (m) => !(m.kind === 'NetworkPolicy' && m.metadata.name === 'rating'),
    );
    const policies = manifests.filter((m) => m.kind === 'NetworkPolicy');
    const rating = workloadPods(manifests).get('rating')!;
    assert.equal(allows(policies, { from: rating, to: postgres, port: 5432 }), false);
    assert.equal(allows(policies, { from: rating, to: dns, port: 53, protocol: 'UDP' }), true);
  });

  test('selectors and address blocks', () => {
    const labels = { a: '1', b: '2' };
    assert.equal(selects({}, labels), true);
    assert.equal(selects({ matchLabels: { a: '1' } }, labels), true);
    assert.equal(selects({ matchLabels: { a: '2' } }, labels), false);
    assert.equal(
      selects({ matchExpressions: [{ key: 'b', operator: 'In', values: ['2', '3'] }] }, labels),
      true,
    );
    assert.equal(
      selects({ matchExpressions: [{ key: 'b', operator: 'NotIn', values: ['2'] }] }, labels),
      false,
    );
    assert.equal(selects({ matchExpressions: [{ key: 'c', operator: 'Exists' }] }, labels), false);
    assert.equal(
      selects({ matchExpressions: [{ key: 'c', operator: 'DoesNotExist' }] }, labels),
      true,
    );
    assert.throws(() => selects({ matchExpressions: [{ key: 'a', operator: 'Like' }] }, labels));
    assert.equal(inCidr('10.1.2.3', '10.0.0.0/8'), true);
    assert.equal(inCidr('11.1.2.3', '10.0.0.0/8'), false);
    assert.equal(inCidr('192.0.2.10', '0.0.0.0/0'), true);
    assert.throws(() => inCidr('300.1.1.1', '10.0.0.0/8'));
  });
});
