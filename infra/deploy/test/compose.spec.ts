import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { composeConfig, parseComposeConfig, type ComposeService } from './compose-config';
import { renderKustomization } from '../src/kustomize';
import { REPO_ROOT } from '../src/workspaces';
import { allServiceFacts } from './service-expectations';

// docker-compose.yml validated by Debian's docker-compose (1.29, installed by
// infra/local/deps.sh): `config` parses, checks every key against its schema, interpolates and
// prints the normalized file, which the tests below then hold to the product's rules.
const COMPOSE_FILE = join(REPO_ROOT, 'docker-compose.yml');
const ADMIN_API_KEY = 'test-only-admin-key-0123456789';
/** The seller billing-api's production image requires (services/billing-api README). */
const SELLER = {
  SELLER_LEGAL_NAME: 'Example Cloud GmbH',
  SELLER_ADDRESS: 'Street 1|10115 Berlin',
  SELLER_TAX_ID: 'DE123456789',
  SELLER_IBAN: 'DE89370400440532013000',
};
const services = allServiceFacts();

let normalized: Record<string, ComposeService> | undefined;

/** The normalized file (`docker-compose config` output), read once; each test gets a copy. */
function config(): Record<string, ComposeService> {
  if (normalized === undefined) {
    const result = composeConfig(COMPOSE_FILE, { ADMIN_API_KEY, ...SELLER });
    assert.equal(result.status, 0, result.stderr);
    normalized = parseComposeConfig(result.stdout);
  }
  return structuredClone(normalized);
}

function envNames(service: ComposeService): string[] {
  return Object.keys(service.environment ?? {});
}

describe('docker-compose.yml', () => {
  test('docker-compose config accepts it', () => {
    const result = composeConfig(COMPOSE_FILE, { ADMIN_API_KEY, ...SELLER });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^services:/m);
  });

  test('docker-compose config rejects a broken file (the check can fail)', () => {
    const result = composeConfig(
      join(REPO_ROOT, 'infra/deploy/test/fixtures/broken-compose.yml'),
      {},
    );
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /healtcheck/);
    assert.match(result.stderr, /ports/);
  });

  test('the billing API admin key must be given, never defaulted', () => {
    const result = composeConfig(COMPOSE_FILE, {});
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /ADMIN_API_KEY/);
  });

  test('the full stack: infrastructure and every service', () => {
    const names = Object.keys(config()).sort();
    for (const name of [
      'kafka',
      'kafka-init',
      'postgres',
      'influxdb',
      'prometheus',
      'grafana',
      ...services.keys(),
    ]) {
      assert.ok(names.includes(name), `${name} missing from ${names.join(', ')}`);
    }
  });

  test('every published port is bound to 127.0.0.1', () => {
    for (const [name, service] of Object.entries(config())) {
      for (const port of service.ports ?? []) {
        assert.match(port, /^127\.0\.0\.1:\d+:\d+(\/tcp)?$/, `${name}: ${port}`);
      }
    }
  });

  for (const [name, facts] of services) {
    test(`${name}: built from its Dockerfile, hardened, healthy on /readyz, known settings`, () => {
      const service = config()[name];
      assert.ok(service, `${name} missing`);
      assert.equal(service.build?.context, REPO_ROOT);
      assert.equal(service.build?.dockerfile, `services/${name}/Dockerfile`);
      assert.ok(existsSync(join(REPO_ROOT, 'services', name, 'Dockerfile')));
      assert.equal(String(service.environment?.PORT), String(facts.port));
      assert.deepEqual(service.ports, [`127.0.0.1:${facts.port}:${facts.port}/tcp`]);
      // Readiness: depends_on waits for the dependencies too; compose never restarts on it.
      assert.ok(
        service.healthcheck?.test.join(' ').includes(`127.0.0.1:${facts.port}/readyz`),
        JSON.stringify(service.healthcheck),
      );
      // Longer than the 3 s one health check may take.
      assert.ok(
        Number(/^(\d+)s$/.exec(service.healthcheck?.timeout ?? '')?.[1] ?? 0) > 3,
        `${name}: healthcheck timeout ${String(service.healthcheck?.timeout)}`,
      );
      assert.equal(service.read_only, true);
      assert.deepEqual(service.cap_drop, ['ALL']);
      assert.ok(service.security_opt?.includes('no-new-privileges:true'));
      const unknown = envNames(service).filter((env) => !facts.settings.has(env));
      assert.deepEqual(unknown, [], `not read by ${name}'s src/config.ts`);
    });
  }

  test('collectors get exactly the host mounts they need, read-only; others none', () => {
    const all = config();
    const hostMounts = (name: string): string[] =>
      (all[name]?.volumes ?? []).filter((v) => v.startsWith('/')).sort();
    assert.deepEqual(hostMounts('docker-collector'), [
      '/proc:/host/proc:ro',
      '/sys/fs/cgroup:/sys/fs/cgroup:ro',
      '/var/run/docker.sock:/var/run/docker.sock:ro',
    ]);
    assert.deepEqual(hostMounts('vm-collector'), [
      '/proc:/host/proc:ro',
      '/sys/fs/cgroup:/sys/fs/cgroup:ro',
      '/var/run/libvirt:/run/libvirt:ro',
    ]);
    assert.equal(all['docker-collector']?.environment?.HOST_PROC, '/host/proc');
    assert.equal(all['vm-collector']?.environment?.HOST_PROC, '/host/proc');
    // The spools outlive the containers.
    for (const name of ['docker-collector', 'vm-collector']) {
      assert.ok(
        all[name]?.volumes?.some((v) => v.startsWith(`${name}-spool:/var/lib/metering/spool`)),
        name,
      );
    }
    for (const name of ['rating', 'billing-api']) assert.deepEqual(hostMounts(name), [], name);
  });

  test('start order: topics first, databases healthy before their users', () => {
    const all = config();
    const condition = (name: string, on: string): string | undefined =>
      all[name]?.depends_on?.[on]?.condition;
    for (const name of ['docker-collector', 'vm-collector', 'rating']) {
      assert.equal(condition(name, 'kafka-init'), 'service_completed_successfully', name);
    }
    assert.equal(condition('kafka-init', 'kafka'), 'service_healthy');
    assert.equal(condition('rating', 'postgres'), 'service_healthy');
    assert.equal(condition('rating', 'influxdb'), 'service_healthy');
    assert.equal(condition('billing-api', 'postgres'), 'service_healthy');
    assert.equal(condition('grafana', 'influxdb'), 'service_healthy');
  });

  test('the services connect as the app role; only ledger-migrate holds the owner URL', () => {
    const all = config();
    for (const name of ['rating', 'billing-api']) {
      const env = all[name]?.environment ?? {};
      assert.match(String(env.DATABASE_URL), /^postgres:\/\/metering_app@/, name);
      assert.equal(env.MIGRATE_ON_START, 'false', name);
      assert.equal(env.DATABASE_MIGRATION_URL, undefined, name);
      assert.equal(
        all[name]?.depends_on?.['ledger-migrate']?.condition,
        'service_completed_successfully',
        name,
      );
    }
    const migrate = all['ledger-migrate'];
    assert.match(String(migrate?.environment?.DATABASE_MIGRATION_URL), /^postgres:\/\/postgres@/);
    assert.match(String(migrate?.environment?.DATABASE_URL), /^postgres:\/\/metering_app@/);
    assert.equal(
      migrate?.depends_on?.['postgres-init']?.condition,
      'service_completed_successfully',
    );
    assert.match(
      JSON.stringify(all['postgres-init']),
      /CREATE ROLE metering_app LOGIN NOSUPERUSER/,
    );
    const holders = Object.entries(all)
      .filter(([, service]) =>
        JSON.stringify(service.environment ?? {}).includes('postgres://postgres@'),
      )
      .map(([name]) => name);
    assert.deepEqual(holders, ['ledger-migrate']);
  });

  test('kafka-init creates the topics with the partitions of the Kubernetes KafkaTopics', () => {
    const command = JSON.stringify(config()['kafka-init']);
    const topics = renderKustomization(join(REPO_ROOT, 'k8s/base')).filter(
      (m) => m.kind === 'KafkaTopic',
    );
    assert.equal(topics.length, 4);
    for (const topic of topics) {
      const spec = topic.spec as { topicName: string; partitions: number };
      assert.ok(
        command.includes(`${spec.topicName}:${spec.partitions}`),
        `${spec.topicName}:${spec.partitions}`,
      );
    }
  });

  test('Grafana gets the provisioning and the dashboards read-only', () => {
    const volumes = config().grafana?.volumes ?? [];
    assert.ok(
      volumes.includes(`${REPO_ROOT}/infra/grafana/provisioning:/etc/grafana/provisioning:ro`),
      volumes.join(),
    );
    assert.ok(
      volumes.includes(`${REPO_ROOT}/infra/grafana/dashboards:/var/lib/grafana/dashboards:ro`),
      volumes.join(),
    );
  });

  test('Prometheus scrapes every service at its compose name and port, with the alerting rules', () => {
    const all = config();
    assert.ok(
      all.prometheus?.volumes?.includes(
        `${REPO_ROOT}/infra/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro`,
      ),
    );
    assert.ok(
      all.prometheus?.volumes?.includes(
        `${REPO_ROOT}/infra/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro`,
      ),
    );
    const prometheus = parse(
      readFileSync(join(REPO_ROOT, 'infra/prometheus/prometheus.yml'), 'utf8'),
    ) as {
      rule_files: string[];
      scrape_configs: {
        job_name: string;
        metrics_path?: string;
        static_configs: { targets: string[] }[];
      }[];
    };
    assert.deepEqual(prometheus.rule_files, ['/etc/prometheus/alerts.yml']);
    for (const [name, facts] of services) {
      const job = prometheus.scrape_configs.find((j) => j.job_name === name);
      assert.ok(job, `no scrape job ${name}`);
      assert.equal(job.metrics_path ?? '/metrics', '/metrics');
      assert.deepEqual(
        job.static_configs.flatMap((c) => c.targets),
        [`${name}:${facts.port}`],
      );
    }
  });
});
