import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { checkServiceDockerfile, DOCKERIGNORE_REQUIRED } from '../src/dockerfile-checks';
import { REPO_ROOT } from '../src/workspaces';
import { allServiceFacts, dockerfileExpectations } from './service-expectations';

// No image can be built here (no registry for the node base image), so every Dockerfile is
// checked statically: parsed with dockerfile-ast and held to the rules in dockerfile-checks.ts.
const services = allServiceFacts();

describe('service Dockerfiles', () => {
  test('every service has one', () => {
    assert.deepEqual(
      [...services.keys()].filter(
        (name) => !existsSync(join(REPO_ROOT, 'services', name, 'Dockerfile')),
      ),
      [],
    );
    assert.ok(services.size >= 4, `services found: ${[...services.keys()].join(', ')}`);
  });

  for (const [name, facts] of services) {
    test(`${name}: multi-stage, pinned base, npm ci of its workspace, only its libs, health, user`, () => {
      const text = readFileSync(join(REPO_ROOT, 'services', name, 'Dockerfile'), 'utf8');
      assert.deepEqual(checkServiceDockerfile(text, dockerfileExpectations(facts)), []);
    });
  }

  test('all images start from the same base', () => {
    const bases = new Set(
      [...services.keys()].map(
        (name) =>
          /^ARG NODE_IMAGE=(\S+)$/m.exec(
            readFileSync(join(REPO_ROOT, 'services', name, 'Dockerfile'), 'utf8'),
          )?.[1],
      ),
    );
    assert.equal(bases.size, 1, [...bases].join(', '));
  });

  test('the checks reject a broken Dockerfile', () => {
    const rating = services.get('rating');
    assert.ok(rating);
    const good = readFileSync(join(REPO_ROOT, 'services/rating/Dockerfile'), 'utf8');
    const broken = good
      .replace(/^ARG NODE_IMAGE=.*$/m, 'ARG NODE_IMAGE=node:latest')
      .replace('USER node', 'USER root')
      .replace(/^HEALTHCHECK[\s\S]*?\n(?=CMD)/m, '')
      .replace('--omit=dev', '')
      .replace(/^COPY --from=build \/app\/libs\/money.*\n/m, '')
      .replace('COPY --from=prod-deps /app ./', 'COPY --from=prod-deps /app ./\nCOPY . .');
    const problems = checkServiceDockerfile(broken, dockerfileExpectations(rating)).join('\n');
    for (const expected of [
      'ARG NODE_IMAGE must pin',
      'runs as root',
      'no HEALTHCHECK',
      '--omit=dev',
      'libs/money/dist/src is needed at run time but not copied',
      'takes files from the build context',
    ]) {
      assert.match(problems, new RegExp(expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    }
  });

  test('billing-api ships the portal web app it serves, built in its own stage', () => {
    const billing = services.get('billing-api');
    assert.ok(billing);
    const good = readFileSync(join(REPO_ROOT, 'services/billing-api/Dockerfile'), 'utf8');
    assert.deepEqual(checkServiceDockerfile(good, dockerfileExpectations(billing)), []);
    const noCopy = good.replace(/^COPY --from=portal .*\n/m, '');
    assert.deepEqual(checkServiceDockerfile(noCopy, dockerfileExpectations(billing)), [
      'runtime: services/portal/dist (the built web app) is not copied',
    ]);
    const noBuild = good.replace('RUN npm run build -w @metering/portal', 'RUN true');
    assert.deepEqual(checkServiceDockerfile(noBuild, dockerfileExpectations(billing)), [
      'portal: no npm run build -w @metering/portal',
    ]);
    const wrongPath = good.replace(
      'COPY --from=portal /app/services/portal/dist services/portal/dist',
      'COPY --from=portal /app/services/portal services/portal',
    );
    assert.match(
      checkServiceDockerfile(wrongPath, dockerfileExpectations(billing)).join('\n'),
      /expected \/app\/services\/portal\/dist services\/portal\/dist/,
    );
  });

  test('the image HEALTHCHECK is liveness, and waits longer than a health check may take', () => {
    const rating = services.get('rating');
    assert.ok(rating);
    const good = readFileSync(join(REPO_ROOT, 'services/rating/Dockerfile'), 'utf8');
    assert.deepEqual(checkServiceDockerfile(good, dockerfileExpectations(rating)), []);
    const readiness = good.replace('/livez', '/readyz').replace('--timeout=5s', '--timeout=1s');
    assert.deepEqual(checkServiceDockerfile(readiness, dockerfileExpectations(rating)), [
      'runtime: HEALTHCHECK must request /livez on 9103',
      'runtime: HEALTHCHECK --timeout must exceed the 3 s a health check may take',
    ]);
  });

  test('a library the service depends on must reach the runtime stage', () => {
    const collector = services.get('docker-collector');
    assert.ok(collector);
    const text = readFileSync(join(REPO_ROOT, 'services/docker-collector/Dockerfile'), 'utf8');
    const problems = checkServiceDockerfile(text, {
      ...dockerfileExpectations(collector),
      runtimeWorkspaces: [...collector.runtimeWorkspaces, 'libs/ledger'],
    });
    assert.deepEqual(problems, [
      'runtime: libs/ledger/dist/src is needed at run time but not copied',
    ]);
  });

  test('root needs a reason: a collector without the comment is rejected', () => {
    const vm = services.get('vm-collector');
    assert.ok(vm);
    const text = readFileSync(join(REPO_ROOT, 'services/vm-collector/Dockerfile'), 'utf8')
      .split('\n')
      .filter((line) => !(line.startsWith('#') && /root/i.test(line)))
      .join('\n');
    assert.deepEqual(checkServiceDockerfile(text, dockerfileExpectations(vm)), [
      'runs as root without a comment above USER saying why',
    ]);
  });

  test('.dockerignore keeps installed, compiled and local files out of the context', () => {
    const entries = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    assert.deepEqual(
      DOCKERIGNORE_REQUIRED.filter((e) => !entries.includes(e)),
      [],
    );
    // Workspace manifests must stay in the context: npm ci needs them all.
    for (const entry of entries) {
      assert.ok(
        !['libs', 'services', 'infra', 'package.json', 'package-lock.json'].includes(entry),
        entry,
      );
    }
  });
});
