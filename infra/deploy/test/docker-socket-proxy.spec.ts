import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { backendServers, HaproxyConfigError, parseFrontend } from '../src/haproxy-access';
import { DOCKER_SOCKET_PROXY, policyProblems } from '../src/k8s-policy';
import { containerEnv } from '../src/container-env';
import { type JsonObject, type Manifest, podSpecs, renderKustomization } from '../src/kustomize';
import { REPO_ROOT } from '../src/workspaces';
import { allServiceFacts } from './service-expectations';

// docker-collector reaches the Docker engine only through a sidecar HAProxy that passes on the
// GET calls it makes and refuses the rest (k8s/base/docker-socket-proxy/haproxy.cfg): the
// config evaluated request by request (src/haproxy-access.ts), and the DaemonSet's wiring.
const CONFIG = readFileSync(join(REPO_ROOT, 'k8s/base/docker-socket-proxy/haproxy.cfg'), 'utf8');
const ID = 'f'.repeat(64);

/** The dockerode calls of services/docker-collector/src/discovery/docker-engine.client.ts. */
const COLLECTOR_CALLS = [
  '/_ping',
  '/info',
  '/events',
  '/containers/json',
  `/containers/${ID}/json`,
  `/containers/${ID}/stats`,
  `/v1.47/containers/${ID}/stats`,
  '/v1.41/events',
];

const REFUSED_READS = [
  '/version',
  '/images/json',
  `/containers/${ID}/logs`,
  `/containers/${ID}/archive`,
  `/containers/${ID}/export`,
  `/containers/${ID}/top`,
  `/containers/../images/json`,
  `/containers/%2e%2e/json`,
  `/containers/${ID}/json/../../images/json`,
  '/secrets',
  '/volumes',
  '/system/df',
  '/containers/json/extra',
  '/v1.47/../containers/json',
  '//containers/json',
];

describe('the Docker socket proxy', () => {
  const frontend = parseFrontend(CONFIG, 'docker');

  test('the dockerode calls the collector makes pass, as GET only', () => {
    for (const path of COLLECTOR_CALLS) assert.equal(frontend.passes('GET', path), true, path);
    // The calls are the ones the client code makes (a new call needs a new rule).
    const client = readFileSync(
      join(REPO_ROOT, 'services/docker-collector/src/discovery/docker-engine.client.ts'),
      'utf8',
    );
    const calls = [...client.matchAll(/this\.docker(?:\.getContainer\(id\))?\.(\w+)\(/g)]
      .map((m) => m[1])
      .sort();
    assert.deepEqual(calls, ['getEvents', 'info', 'inspect', 'listContainers', 'ping', 'stats']);
  });

  test('every other method is refused, on every path', () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'CONNECT', 'get']) {
      for (const path of [...COLLECTOR_CALLS, '/containers/create', `/containers/${ID}/exec`]) {
        assert.equal(frontend.passes(method, path), false, `${method} ${path}`);
      }
    }
  });

  test('reads the collector does not make are refused', () => {
    for (const path of REFUSED_READS) assert.equal(frontend.passes('GET', path), false, path);
  });

  test('it listens on the shared socket and forwards to the engine’s socket only', () => {
    assert.deepEqual(frontend.binds, ['/run/docker-proxy/docker.sock']);
    assert.deepEqual([...new Set(backendServers(CONFIG))], ['/var/run/docker.sock']);
  });

  test('the evaluator refuses what it does not model, and can say no', () => {
    assert.throws(
      () => parseFrontend('frontend f\n  http-request set-header X 1\n', 'f'),
      HaproxyConfigError,
    );
    assert.throws(
      () => parseFrontend('frontend f\n  acl a method GET\n  http-request deny if a or a\n', 'f'),
      HaproxyConfigError,
    );
    const open = parseFrontend('frontend f\n  bind :2375\n', 'f');
    assert.equal(open.passes('POST', '/containers/create'), true);
    const allowAll = CONFIG.replace(/^\s*http-request deny.*$/m, '');
    assert.equal(parseFrontend(allowAll, 'docker').passes('DELETE', `/containers/${ID}`), true);
  });

  for (const overlay of ['local', 'production']) {
    test(`${overlay}: the collector talks to the proxy's socket; only the proxy mounts the engine's`, () => {
      const manifests = renderKustomization(join(REPO_ROOT, 'k8s/overlays', overlay));
      const collector = manifests.find(
        (m) => m.kind === 'DaemonSet' && m.metadata.name === 'docker-collector',
      )!;
      const spec = podSpecs(collector)[0]!;
      const proxy = (spec.initContainers as JsonObject[]).find(
        (c) => c.name === DOCKER_SOCKET_PROXY,
      )!;
      assert.equal(proxy.restartPolicy, 'Always', 'a native sidecar, started before the collector');
      const main = (spec.containers as JsonObject[])[0]!;
      const mounts = (c: JsonObject): { name: string; mountPath: string; readOnly?: boolean }[] =>
        c.volumeMounts as { name: string; mountPath: string; readOnly?: boolean }[];
      const volumes = spec.volumes as {
        name: string;
        emptyDir?: object;
        configMap?: { name: string };
      }[];
      const socketDir = mounts(main).find((m) => m.mountPath === '/run/docker-proxy')!;
      assert.ok(volumes.find((v) => v.name === socketDir.name)?.emptyDir, 'shared emptyDir');
      assert.ok(
        mounts(proxy).some((m) => m.name === socketDir.name && m.mountPath === '/run/docker-proxy'),
      );
      assert.equal(
        containerEnv(manifests, collector).get('DOCKER_SOCKET'),
        '/run/docker-proxy/docker.sock',
      );
      // The proxy reads this very config.
      const configVolume = mounts(proxy).find((m) => m.mountPath === '/usr/local/etc/haproxy')!;
      const configMap = volumes.find((v) => v.name === configVolume.name)!.configMap!.name;
      const data = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === configMap)!
        .data as Record<string, string>;
      assert.equal(data['haproxy.cfg'], CONFIG);
      assert.deepEqual(
        policyProblems(manifests, allServiceFacts()).filter((p) => /socket|host path/.test(p)),
        [],
      );
    });
  }

  test('the rules catch a second container on the engine’s socket', () => {
    const manifests: Manifest[] = renderKustomization(join(REPO_ROOT, 'k8s/overlays/production'));
    const rating = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === 'rating')!;
    const spec = podSpecs(rating)[0]!;
    (spec.volumes as unknown[]).push({ name: 'engine', hostPath: { path: '/run/' } });
    ((spec.containers as JsonObject[])[0]!.volumeMounts as unknown[]).push({
      name: 'engine',
      mountPath: '/run/host',
    });
    const problems = policyProblems(manifests, allServiceFacts()).join('\n');
    assert.match(
      problems,
      /Deployment metering\/rating: container rating mounts the engine's socket/,
    );
  });
});
