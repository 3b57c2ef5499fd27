import { type JsonObject, type JsonValue, type Manifest, podSpecs } from './kustomize';
import { describeManifest } from './k8s-validation';
import { isObject, list, str, show } from './json-access';

/**
 * Least privilege in PostgreSQL (docs/operations.md, "Database roles"): the ledger owner's Secret
 * reaches only the `migrate` init containers (libs/ledger migrate.main.js); rating and billing-api
 * run as the app role that CloudNativePG manages (not a superuser, no CREATEDB/CREATEROLE/
 * BYPASSRLS) and never migrate themselves.
 */
/** The ledger owner's Secret, and the one init container allowed to read it. */
export const DB_OWNER_SECRET = 'metering-db-credentials';
const MIGRATE_CONTAINER = 'migrate';
const MIGRATE_ENTRY = '/app/libs/ledger/dist/src/migrate.main.js';

function secretNames(container: JsonObject): string[] {
  const names: string[] = [];
  for (const env of list(container.env).filter(isObject)) {
    const from = isObject(env.valueFrom) ? env.valueFrom : {};
    if (isObject(from.secretKeyRef)) names.push(str(from.secretKeyRef.name) ?? '');
  }
  for (const source of list(container.envFrom).filter(isObject)) {
    if (isObject(source.secretRef)) names.push(str(source.secretRef.name) ?? '');
  }
  return names;
}

function envValue(container: JsonObject, name: string): JsonValue | undefined {
  return list(container.env)
    .filter(isObject)
    .find((e) => e.name === name)?.value;
}

export function databaseRoleProblems(
  manifests: readonly Manifest[],
  find: (kind: string, name: string) => Manifest | undefined,
): string[] {
  const problems: string[] = [];
  for (const m of manifests) {
    for (const spec of podSpecs(m)) {
      for (const c of list(spec.containers).filter(isObject)) {
        if (secretNames(c).includes(DB_OWNER_SECRET)) {
          problems.push(
            `${describeManifest(m)}: container ${show(c.name)} reads ${DB_OWNER_SECRET} (the ledger owner); only a migrate init container may`,
          );
        }
      }
      for (const c of list(spec.initContainers).filter(isObject)) {
        if (!secretNames(c).includes(DB_OWNER_SECRET)) continue;
        if (c.name !== MIGRATE_CONTAINER || !list(c.command).includes(MIGRATE_ENTRY)) {
          problems.push(
            `${describeManifest(m)}: init container ${show(c.name)} reads ${DB_OWNER_SECRET} but is not the ${MIGRATE_CONTAINER} step (${MIGRATE_ENTRY})`,
          );
        }
      }
    }
  }
  for (const name of ['rating', 'billing-api']) {
    const workload = find('Deployment', name);
    const spec = workload === undefined ? undefined : podSpecs(workload)[0];
    if (workload === undefined || spec === undefined) continue;
    const what = describeManifest(workload);
    const migrate = list(spec.initContainers)
      .filter(isObject)
      .find((c) => c.name === MIGRATE_CONTAINER);
    if (migrate === undefined || envValue(migrate, 'DATABASE_MIGRATION_URL') === undefined) {
      problems.push(`${what}: no ${MIGRATE_CONTAINER} init container with DATABASE_MIGRATION_URL`);
    }
    const main = list(spec.containers).find(isObject);
    if (main !== undefined && envValue(main, 'MIGRATE_ON_START') !== 'false') {
      problems.push(
        `${what}: MIGRATE_ON_START must be 'false' (the migrate init container runs them)`,
      );
    }
  }
  const cluster = find('Cluster', 'metering-pg');
  const spec = cluster !== undefined && isObject(cluster.spec) ? cluster.spec : {};
  const managed = isObject(spec.managed) ? spec.managed : {};
  const role = list(managed.roles)
    .filter(isObject)
    .find((r) => r.name === 'metering_app');
  if (
    cluster !== undefined &&
    (role === undefined ||
      role.superuser === true ||
      role.createdb === true ||
      role.createrole === true ||
      role.bypassrls === true)
  ) {
    problems.push(
      `${describeManifest(cluster)}: managed role metering_app missing or privileged (superuser, createdb, createrole, bypassrls)`,
    );
  }
  return problems;
}
