import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { databaseRoleProblems } from '../src/database-roles';
import { type Manifest, podSpecs, renderKustomization } from '../src/kustomize';
import { REPO_ROOT } from '../src/workspaces';

// The rule on real renders: both overlays pass; each way of breaking least privilege is caught.
const render = (overlay: string): Manifest[] =>
  renderKustomization(join(REPO_ROOT, 'k8s/overlays', overlay));
const problemsOf = (manifests: readonly Manifest[]): string[] =>
  databaseRoleProblems(manifests, (kind, name) =>
    manifests.find((m) => m.kind === kind && m.metadata.name === name),
  );
type Container = { name: string; env: Record<string, unknown>[]; command?: string[] };
const pod = (manifests: Manifest[], kind: string, name: string) => {
  const m = manifests.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(m, `${kind} ${name}`);
  return podSpecs(m)[0] as unknown as { containers: Container[]; initContainers?: Container[] };
};

test('both overlays: the owner only in migrate init containers, the services as the app role', () => {
  for (const overlay of ['local', 'production']) assert.deepEqual(problemsOf(render(overlay)), []);
});

test('the owner secret in a service, a stray init container, self-migration, a privileged role', () => {
  const manifests = render('production');
  const api = pod(manifests, 'Deployment', 'billing-api');
  api.containers[0]!.env.push({
    name: 'X',
    valueFrom: { secretKeyRef: { name: 'metering-db-credentials', key: 'password' } },
  });
  api.containers[0]!.env = api.containers[0]!.env.filter((e) => e.name !== 'MIGRATE_ON_START');
  const rating = pod(manifests, 'Deployment', 'rating');
  rating.initContainers![0]!.name = 'setup';
  const cluster = manifests.find((m) => m.kind === 'Cluster')!;
  const roles = (cluster.spec as { managed: { roles: Record<string, unknown>[] } }).managed.roles;
  roles[0]!.superuser = true;
  const problems = problemsOf(manifests).join('\n');
  for (const expected of [
    /Deployment metering\/billing-api: container billing-api reads metering-db-credentials/,
    /Deployment metering\/billing-api: MIGRATE_ON_START must be 'false'/,
    /Deployment metering\/rating: init container setup reads metering-db-credentials but is not the migrate step/,
    /Deployment metering\/rating: no migrate init container/,
    /managed role metering_app missing or privileged/,
  ]) {
    assert.match(problems, expected);
  }
});
