import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { containerEnv } from '../src/container-env';
import { runtimeEnv } from '../src/dockerfile-checks';
import { renderKustomization } from '../src/kustomize';
import { REPO_ROOT } from '../src/workspaces';
import { composeConfig, parseComposeConfig } from './compose-config';
import { allServiceFacts } from './service-expectations';

// Each service's own configuration loader (its compiled src/config.ts) is given exactly what its
// deployment gives the process — the image's ENV, then docker-compose's environment or the
// rendered Kubernetes env — and must accept it: a required setting nobody sets, or a value the
// service rejects, would stop the container at start. (docker-collector's SPOOL_DIR was missing
// from both deployments until this check existed.)
const services = [...allServiceFacts().keys()];
/** Secrets the services check at boot in production (DB_PASSWORD goes into a URL, unchecked). */
const CHECKED_SECRETS = new Set([
  'ADMIN_API_KEY',
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

describe('every service accepts the settings its deployment gives it', () => {
  test('the check can fail: a setting a service requires, left out, is named', async () => {
    const load = await loaderOf('docker-collector');
    const env: NodeJS.ProcessEnv = { ...imageEnv('docker-collector'), KAFKA_BROKERS: 'kafka:9092' };
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
    const manifests = renderKustomization(join(REPO_ROOT, 'k8s/overlays', overlay));
    for (const name of services) {
      test(`k8s ${overlay}: ${name}`, async () => {
        const workload = manifests.find(
          (m) => ['Deployment', 'DaemonSet'].includes(m.kind) && m.metadata.name === name,
        );
        assert.ok(workload, `${name}: no workload`);
        const shipped = Object.fromEntries(containerEnv(manifests, workload));
        // The base's secrets are marked placeholders the operator replaces (k8s/base
        // kustomization.yaml); here they are replaced as an operator would, with random values.
        const env = Object.fromEntries(
          Object.entries(shipped).map(([k, v]) => [
            k,
            v.startsWith('PLACEHOLDER-')
              ? (EXAMPLE_SELLER[k] ?? randomBytes(24).toString('base64url'))
              : v,
          ]),
        );
        assert.equal(refusal(await loaderOf(name), { ...imageEnv(name), ...env }), null);
        // Left as shipped, a placeholder the service checks (secretWeakness) stops the service at boot, naming the setting.
        const placeholders = Object.keys(shipped).filter(
          (k) => CHECKED_SECRETS.has(k) && shipped[k]!.startsWith('PLACEHOLDER-'),
        );
        if (placeholders.length > 0) {
          const refused = refusal(await loaderOf(name), { ...imageEnv(name), ...shipped });
          assert.match(refused ?? 'accepted', new RegExp(`${placeholders[0]}: refused`));
          assert.ok(!(refused ?? '').includes(shipped[placeholders[0]!]!), 'the secret is echoed');
        }
      });
    }
  }
});
