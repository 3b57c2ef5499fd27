import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import {
  aclLines,
  aclProblems,
  HOST_USER_PREFIX,
  kafkaClientProblems,
  listenerProblems,
} from '../src/kafka-identities';
import { schemaProblems } from '../src/k8s-validation';
import { type Manifest, renderKustomization } from '../src/kustomize';
import { REPO_ROOT } from '../src/workspaces';

// Kafka identities in the manifests: every listener TLS + SCRAM, each KafkaUser exactly the ACLs
// its component needs (names taken from the code that uses them), and every Kafka client of the
// render pointed at the TLS listener with Secrets that exist.
const OVERLAYS = ['local', 'production'];

function source(path: string): string {
  return readFileSync(join(REPO_ROOT, path), 'utf8');
}

/** A string constant of the code: a zod default or a TOPICS entry. */
function constant(path: string, pattern: RegExp): string {
  const found = pattern.exec(source(path))?.[1];
  assert.ok(found, `${path}: ${String(pattern)} not found`);
  return found;
}

const SAMPLES = constant('libs/contracts/src/topics.ts', /samples: '([^']+)'/);
const USAGE = constant('libs/contracts/src/topics.ts', /usage: '([^']+)'/);
const DLQ = constant('libs/contracts/src/topics.ts', /samplesDlq: '([^']+)'/);
const RATING_GROUP = constant(
  'services/rating/src/config.ts',
  /RATING_GROUP_ID: z\.string\(\)\.min\(1\)\.default\('([^']+)'\)/,
);
const INVOICES = 'billing.invoices.v1';

/** Idempotent producers (libs/kafka) need IdempotentWrite on the cluster (implied since Kafka 3.0). */
const IDEMPOTENT = source('libs/kafka/src/kafka-producer.ts').includes('idempotent: true');

const EXPECTED: Readonly<Record<string, readonly string[]>> = {
  rating: [
    `topic ${SAMPLES} Read`,
    `topic ${SAMPLES} Describe`,
    `group ${RATING_GROUP} Read`,
    `topic ${USAGE} Write`,
    `topic ${USAGE} Describe`,
    `topic ${DLQ} Write`,
    `topic ${DLQ} Describe`,
    // Reads the DLQ topic's max.message.bytes at boot (services/rating consuming/pipeline.providers.ts, DEAD_LETTERS).
    `topic ${DLQ} DescribeConfigs`,
    ...(IDEMPOTENT ? ['cluster IdempotentWrite'] : []),
  ],
  'billing-api': [
    `topic ${USAGE} Read`,
    `topic ${USAGE} Describe`,
    'group billing-api Read',
    `topic ${INVOICES} Write`,
    `topic ${INVOICES} Describe`,
    ...(IDEMPOTENT ? ['cluster IdempotentWrite'] : []),
  ],
};
const HOST_ACLS = [
  `topic ${SAMPLES} Write`,
  `topic ${SAMPLES} Describe`,
  ...(IDEMPOTENT ? ['cluster IdempotentWrite'] : []),
];

function expectedAcls(name: string): string[] | undefined {
  const acls = name.startsWith(HOST_USER_PREFIX) ? HOST_ACLS : EXPECTED[name];
  return acls === undefined ? undefined : [...acls].sort();
}

function render(overlay: string): Manifest[] {
  return renderKustomization(join(REPO_ROOT, 'k8s/overlays', overlay));
}

function template(host: string): Manifest {
  return parse(
    source('k8s/hosts/kafka-user.template.yaml').replaceAll('${HOST}', host),
  ) as Manifest;
}

describe('Kafka identities in the manifests', () => {
  test('the names the ACLs use are the code’s', () => {
    assert.deepEqual(
      [SAMPLES, USAGE, DLQ, RATING_GROUP],
      ['metering.samples.v1', 'billing.usage.v1', 'metering.samples.dlq.v1', 'rating'],
    );
    assert.equal(IDEMPOTENT, true);
  });

  for (const overlay of OVERLAYS) {
    const manifests = render(overlay);
    const users = manifests.filter((m) => m.kind === 'KafkaUser');
    const kafka = manifests.find((m) => m.kind === 'Kafka')!;

    test(`${overlay}: every listener is TLS with SCRAM-SHA-512, authorization simple`, () => {
      assert.deepEqual(listenerProblems(kafka), []);
      const listeners = (kafka.spec as { kafka: { listeners: { name: string; port: number }[] } })
        .kafka.listeners;
      assert.ok(
        listeners.every((l) => l.port !== 9092),
        'the old plaintext port is gone',
      );
    });

    test(`${overlay}: every KafkaUser has exactly the ACLs of its job, no wildcard, no All`, () => {
      const names = users.map((u) => u.metadata.name).sort();
      assert.deepEqual(
        names.filter((n) => !n.startsWith(HOST_USER_PREFIX)),
        ['billing-api', 'rating'],
      );
      for (const user of users) {
        assert.deepEqual(aclProblems(user), []);
        assert.deepEqual(aclLines(user), expectedAcls(user.metadata.name), user.metadata.name);
        const labels = user.metadata.labels as Record<string, string> | undefined;
        assert.equal(labels?.['strimzi.io/cluster'], kafka.metadata.name);
      }
    });

    test(`${overlay}: the topics the ACLs name exist`, () => {
      const topics = new Set(
        manifests
          .filter((m) => m.kind === 'KafkaTopic')
          .map((t) => (t.spec as { topicName: string }).topicName),
      );
      for (const user of users) {
        for (const line of aclLines(user)) {
          const [type, name] = line.split(' ');
          if (type === 'topic') assert.ok(topics.has(name!), `${line}: no KafkaTopic`);
        }
      }
    });

    test(`${overlay}: every Kafka client uses the TLS listener, its own KafkaUser and the cluster CA`, () => {
      assert.deepEqual(kafkaClientProblems(manifests), []);
      const clients = manifests
        .filter((m) => ['Deployment', 'DaemonSet'].includes(m.kind))
        .filter((m) => JSON.stringify(m).includes('metering-kafka'))
        .map((m) => m.metadata.name)
        .sort();
      assert.deepEqual(clients, ['billing-api', 'docker-collector', 'rating', 'vm-collector']);
    });
  }

  test('local: the example host is the template with a name; production ships no host', () => {
    const example = render('local').find(
      (m) => m.kind === 'KafkaUser' && m.metadata.name.startsWith(HOST_USER_PREFIX),
    )!;
    const made = template('kind-control-plane');
    assert.deepEqual(example.spec, made.spec);
    assert.deepEqual(
      render('production').filter((m) => m.metadata.name.startsWith(HOST_USER_PREFIX)),
      [],
    );
  });

  test('the host template, filled in, is a valid KafkaUser with the host ACLs only', async () => {
    const user = template('kvm-07');
    assert.equal(user.metadata.name, 'host.kvm-07');
    assert.deepEqual(
      await schemaProblems({ ...user, metadata: { ...user.metadata, namespace: 'metering' } }),
      [],
    );
    assert.deepEqual(aclProblems(user), []);
    assert.deepEqual(aclLines(user), [...HOST_ACLS].sort());
  });

  test('the checks can fail: a wildcard, a prefix, All, a plaintext listener, a foreign Secret', async () => {
    const manifests = render('production');
    const rating = manifests.find((m) => m.kind === 'KafkaUser' && m.metadata.name === 'rating')!;
    const acls = (rating.spec as { authorization: { acls: unknown[] } }).authorization.acls;
    acls.push({
      resource: { type: 'topic', name: '*', patternType: 'literal' },
      operations: ['Read'],
    });
    acls.push({
      resource: { type: 'group', name: 'rat', patternType: 'prefix' },
      operations: ['All'],
    });
    assert.deepEqual(aclProblems(rating), [
      'KafkaUser metering/rating: wildcard *',
      'KafkaUser metering/rating: prefix pattern on rat',
      'KafkaUser metering/rating: operation All',
    ]);
    assert.notDeepEqual(aclLines(rating), expectedAcls('rating'));

    const kafka = manifests.find((m) => m.kind === 'Kafka')!;
    (kafka.spec as { kafka: { listeners: unknown[] } }).kafka.listeners.push({
      name: 'plain',
      port: 9092,
      type: 'internal',
      tls: false,
    });
    assert.deepEqual(listenerProblems(kafka), [
      'Kafka metering/metering-kafka: listener plain without TLS',
      'Kafka metering/metering-kafka: listener plain without SCRAM-SHA-512 authentication',
    ]);

    const deployment = manifests.find(
      (m) => m.kind === 'Deployment' && m.metadata.name === 'rating',
    )!;
    const pod = (
      deployment.spec as {
        template: { spec: { volumes: { name: string; secret?: { secretName: string } }[] } };
      }
    ).template.spec;
    pod.volumes.find((v) => v.name === 'kafka-user')!.secret!.secretName = 'billing-api';
    const config = manifests.find(
      (m) => m.kind === 'ConfigMap' && m.metadata.name.startsWith('metering-kafka'),
    )!;
    (config.data as Record<string, string>).KAFKA_TLS = 'false';
    const problems = kafkaClientProblems(manifests).join('\n');
    assert.match(
      problems,
      /Deployment metering\/rating: KAFKA_SASL_USERNAME rating does not match the mounted Secret billing-api/,
    );
    assert.match(problems, /DaemonSet metering\/vm-collector: KAFKA_TLS is "false", expected true/);

    // A schema error too: an operation Kafka does not have.
    acls.push({ resource: { type: 'topic', name: 'x' }, operations: ['Publish'] });
    assert.notDeepEqual(await schemaProblems(rating), []);
  });
});
