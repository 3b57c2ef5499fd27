import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { containerEnv } from '../src/container-env';
import { runtimeEnv } from '../src/dockerfile-checks';
import {
  CLUSTER_CA_SECRET_KEYS,
  DEV_SECRET_PREFIX,
  EXTERNAL_SECRETS,
  KAFKA_USER_SECRET_KEYS,
} from '../src/k8s-policy';
import { type JsonObject, type Manifest, podSpecs, renderKustomization } from '../src/kustomize';
import { REPO_ROOT } from '../src/workspaces';
import { composeConfig, parseComposeConfig } from './compose-config';
import { allServiceFacts } from './service-expectations';

// Each service's own configuration loader (its compiled src/config.ts) is given exactly what its
// deployment gives the process — the image's ENV, then docker-compose's environment or the
// rendered Kubernetes env — and must accept it: a required setting nobody sets, or a value the
// service rejects, would stop the container at start. (docker-collector's SPOOL_DIR was missing
// from both deployments until this check existed.) On Kubernetes the Secrets the cluster holds
// (made outside the repository, or by Strimzi) are given random values as an operator's would be,
// and the files the pod mounts (Kafka password, cluster CA) are written where the settings say.
const services = [...allServiceFacts().keys()];
/** Secrets the services check at boot in production (DB_PASSWORD goes into a URL, unchecked). */
const CHECKED_SECRETS = new Set([
  'ADMIN_API_KEY',
  'WEBHOOK_SECRET_KEY',
  'KAFKA_SASL_PASSWORD',
  'INFLUX_PASSWORD',
  'INFLUX_TOKEN',
]);
type Loader = (env: NodeJS.ProcessEnv) => unknown;
/** A seller as an operator would configure it (the IBAN must pass its checksum). */
const EXAMPLE_SELLER: Record<string, string> = {
  SELLER_LEGAL_NAME: 'Example Cloud GmbH',
  SELLER_ADDRESS: 'Street 1|10115 Berlin',
  SELLER_TAX_ID: 'DE123456789',
  SELLER_IBAN: 'DE89370400440532013000',
};

async function loaderOf(name: string): Promise<Loader> {
  const module = (await import(join(REPO_ROOT, 'services', name, 'dist/src/config.js'))) as Record<
    string,
    unknown
  >;
  const found = Object.entries(module).filter(
    ([key, value]) => /^load\w*Config$/.test(key) && typeof value === 'function',
  );
  assert.equal(found.length, 1, `${name}: one load…Config export`);
  return found[0]![1] as Loader;
}

function imageEnv(name: string): Record<string, string> {
  const text = readFileSync(join(REPO_ROOT, 'services', name, 'Dockerfile'), 'utf8');
  return Object.fromEntries(runtimeEnv(text));
}

/** Runs the loader; the error message (it names the setting) when it refuses. */
function refusal(load: Loader, env: NodeJS.ProcessEnv): string | null {
  try {
    load(env);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const files = mkdtempSync(join(tmpdir(), 'service-settings-'));
after(() => rmSync(files, { recursive: true, force: true }));

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const random = (): string => randomBytes(30).toString('base64url');
/** A sample key file's line (ADR 0010): rating's master keys, a host's own key. */
const keyLine = (): string => `k1 ${randomBytes(32).toString('hex')}\n`;

/** The render plus the Secrets the cluster holds: external ones, Strimzi's (random values). */
function withClusterSecrets(manifests: Manifest[]): Manifest[] {
  const secret = (name: string, keys: readonly string[]): Manifest => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: 'metering' },
    data: Object.fromEntries(
      keys.map((k) => [
        k,
        Buffer.from(
          k === 'username'
            ? 'metering'
            : k === 'ca.crt'
              ? PEM
              : k === 'keys'
                ? keyLine()
                : (EXAMPLE_SELLER[k] ?? random()),
        ).toString('base64'),
      ]),
    ),
  });
  const present = new Set(manifests.filter((m) => m.kind === 'Secret').map((m) => m.metadata.name));
  const extra: Manifest[] = [];
  for (const [name, keys] of Object.entries(EXTERNAL_SECRETS)) {
    if (![...present].some((p) => p === name || p.startsWith(`${name}-`))) {
      extra.push(secret(name, keys.length === 0 ? ['node-1'] : keys));
    }
  }
  for (const user of manifests.filter((m) => m.kind === 'KafkaUser')) {
    extra.push(secret(user.metadata.name, KAFKA_USER_SECRET_KEYS));
  }
  for (const kafka of manifests.filter((m) => m.kind === 'Kafka')) {
    extra.push(secret(`${kafka.metadata.name}-cluster-ca-cert`, CLUSTER_CA_SECRET_KEYS));
  }
  return [...manifests, ...extra];
}

/**
 * Writes the files the workload's container mounts from Secrets (and from the node's
 * /etc/metering, as a provisioned node holds it) under a temporary folder, and points the
 * settings that name them there.
 */
function mountedFiles(
  manifests: readonly Manifest[],
  workload: Manifest,
  env: Record<string, string>,
): Record<string, string> {
  const spec = podSpecs(workload)[0]!;
  const container = (spec.containers as JsonObject[])[0]!;
  const volumes = spec.volumes as JsonObject[];
  const root = join(files, workload.metadata.name);
  const write = (path: string, text: string): void => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  };
  const valueOf = (secretName: string, key: string): string => {
    const secret = manifests.find((m) => m.kind === 'Secret' && m.metadata.name === secretName);
    const data = (secret?.data ?? {}) as Record<string, string>;
    return Buffer.from(data[key] ?? '', 'base64').toString('utf8');
  };
  const rewrites: [string, string][] = [];
  for (const mount of container.volumeMounts as { name: string; mountPath: string }[]) {
    const volume = volumes.find((v) => v.name === mount.name) as
      | {
          secret?: { secretName: string; items?: { key: string; path: string }[] };
          projected?: {
            sources: { secret?: { name: string; items?: { key: string; path: string }[] } }[];
          };
          hostPath?: { path: string };
        }
      | undefined;
    const at = join(root, mount.mountPath);
    const sources = [
      ...(volume?.secret === undefined
        ? []
        : [{ ...volume.secret, name: volume.secret.secretName }]),
      ...(volume?.projected?.sources ?? []).flatMap((s) =>
        s.secret === undefined ? [] : [s.secret],
      ),
    ];
    for (const source of sources) {
      const items =
        source.items ?? secretKeysOf(manifests, source.name).map((key) => ({ key, path: key }));
      for (const item of items) write(join(at, item.path), valueOf(source.name, item.key));
    }
    if (volume?.hostPath?.path === '/etc/metering') {
      write(join(at, 'kafka/password'), random());
      write(join(at, 'host-key/key'), keyLine());
    }
    if (sources.length > 0 || volume?.hostPath?.path === '/etc/metering') {
      rewrites.push([mount.mountPath, at]);
    }
  }
  return Object.fromEntries(
    Object.entries(env).map(([k, v]) => {
      const hit = rewrites.find(([from]) => v.startsWith(`${from}/`));
      return [k, hit === undefined ? v : hit[1] + v.slice(hit[0].length)];
    }),
  );
}

/** The keys a Secret mounted whole holds. */
function secretKeysOf(manifests: readonly Manifest[], name: string): string[] {
  const secret = manifests.find((m) => m.kind === 'Secret' && m.metadata.name === name);
  return Object.keys((secret?.data ?? {}) as Record<string, string>);
}

describe('every service accepts the settings its deployment gives it', () => {
  test('the check can fail: a setting a service requires, left out, is named', async () => {
    const load = await loaderOf('docker-collector');
    const hostKey = join(files, 'check-can-fail.key');
    writeFileSync(hostKey, keyLine());
    const env: NodeJS.ProcessEnv = {
      ...imageEnv('docker-collector'),
      KAFKA_BROKERS: 'kafka:9092',
      HOST_AUTH_KEY_FILE: hostKey,
    };
    assert.equal(refusal(load, env), null);
    delete env['SPOOL_DIR'];
    assert.match(refusal(load, env) ?? 'accepted', /SPOOL_DIR/);
  });

  const compose = parseComposeConfig(
    (() => {
      const result = composeConfig(join(REPO_ROOT, 'docker-compose.yml'), {
        // Production-grade (the images set NODE_ENV=production): a random key.
        ADMIN_API_KEY: randomBytes(24).toString('base64url'),
        // The seller on invoices, which the operator supplies (billing-api refuses to start
        // without one in production).
        ...EXAMPLE_SELLER,
      });
      assert.equal(result.status, 0, result.stderr);
      return result.stdout;
    })(),
  );
  for (const name of services) {
    test(`docker-compose: ${name}`, async () => {
      const environment = Object.fromEntries(
        Object.entries(compose[name]?.environment ?? {}).map(([k, v]) => [k, String(v ?? '')]),
      );
      assert.equal(refusal(await loaderOf(name), { ...imageEnv(name), ...environment }), null);
    });
  }

  for (const overlay of ['local', 'production']) {
    const manifests = withClusterSecrets(
      renderKustomization(join(REPO_ROOT, 'k8s/overlays', overlay)),
    );
    for (const name of services) {
      test(`k8s ${overlay}: ${name}`, async () => {
        const workload = manifests.find(
          (m) => ['Deployment', 'DaemonSet'].includes(m.kind) && m.metadata.name === name,
        );
        assert.ok(workload, `${name}: no workload`);
        const env = mountedFiles(
          manifests,
          workload,
          Object.fromEntries(containerEnv(manifests, workload)),
        );
        const load = await loaderOf(name);
        assert.equal(refusal(load, { ...imageEnv(name), ...env }), null);
        // The local overlay's development values, run with NODE_ENV=production, stop the service
        // at boot, naming the setting and never echoing the value.
        const dev = Object.keys(env).filter(
          (k) => CHECKED_SECRETS.has(k) && env[k]!.startsWith(DEV_SECRET_PREFIX),
        );
        if (dev.length > 0) {
          const refused = refusal(load, { ...imageEnv(name), ...env, NODE_ENV: 'production' });
          assert.match(refused ?? 'accepted', new RegExp(`${dev[0]}: refused`));
          assert.ok(!(refused ?? '').includes(env[dev[0]!]!), 'the secret is echoed');
        }
        if (overlay === 'production') assert.equal(dev.length, 0);
      });
    }
  }
});
