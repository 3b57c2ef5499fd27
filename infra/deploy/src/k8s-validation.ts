import Ajv, { type ValidateFunction } from 'ajv';
import { type Manifest } from './kustomize';
import { STRIMZI_SCHEMAS } from './strimzi.schema';

/**
 * Validates rendered manifests against schemas:
 * - Kubernetes' own kinds: the OpenAPI schemas of the API server as compiled into
 *   `kubernetes-models` (types, required fields, enums, formats such as quantities);
 * - CloudNativePG: its CRD schemas as compiled into `@kubernetes-models/cloudnative-pg`;
 * - the Prometheus Operator (k8s/monitoring): `@kubernetes-models/prometheus-operator`;
 * - Strimzi: the hand-written schemas of strimzi.schema.ts (no package ships Strimzi's CRDs).
 * A kind with no schema is a problem, not a pass.
 */

type ModelClass = new (data: unknown) => { validate(): void };

const MODEL_PACKAGES: Readonly<Record<string, string>> = {
  'postgresql.cnpg.io': '@kubernetes-models/cloudnative-pg',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};

let strimziValidators: Map<string, ValidateFunction> | undefined;

function strimziValidator(kind: string): ValidateFunction | undefined {
  if (strimziValidators === undefined) {
    const ajv = new Ajv({
      allErrors: true,
      strict: true,
      strictRequired: false,
      allowUnionTypes: true,
    });
    strimziValidators = new Map(
      Object.entries(STRIMZI_SCHEMAS).map(([k, schema]) => [k, ajv.compile(schema)]),
    );
  }
  return strimziValidators.get(kind);
}

/** `kubernetes-models/apps/v1/Deployment`, `@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/Cluster`. */
export function modelModule(apiVersion: string, kind: string): string | null {
  if (!/^[A-Za-z0-9]+$/.test(kind)) return null;
  const group = apiVersion.includes('/') ? (apiVersion.split('/')[0] ?? '') : '';
  if (group.endsWith('strimzi.io')) return null;
  if (group === '' || !group.includes('.') || group.endsWith('.k8s.io')) {
    return `kubernetes-models/${apiVersion}/${kind}`;
  }
  const pkg = MODEL_PACKAGES[group];
  return pkg === undefined ? null : `${pkg}/${apiVersion}/${kind}`;
}

async function loadModel(apiVersion: string, kind: string): Promise<ModelClass | null> {
  const specifier = modelModule(apiVersion, kind);
  if (specifier === null) return null;
  try {
    const module = (await import(specifier)) as Record<string, unknown>;
    const model = module[kind];
    return typeof model === 'function' ? (model as ModelClass) : null;
  } catch {
    return null;
  }
}

export function describeManifest(m: Manifest): string {
  const ns = typeof m.metadata.namespace === 'string' ? `${m.metadata.namespace}/` : '';
  return `${m.kind} ${ns}${m.metadata.name}`;
}

/** Schema problems of one manifest; empty when valid. */
export async function schemaProblems(m: Manifest): Promise<string[]> {
  const what = describeManifest(m);
  if (m.apiVersion.startsWith('kafka.strimzi.io/')) {
    const validate =
      m.apiVersion === 'kafka.strimzi.io/v1beta2' ? strimziValidator(m.kind) : undefined;
    if (validate === undefined) return [`${what}: no schema for ${m.apiVersion} ${m.kind}`];
    if (validate(m)) return [];
    return (validate.errors ?? []).map(
      (e) =>
        `${what}: ${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.keyword === 'additionalProperties' ? ` (${JSON.stringify(e.params)})` : ''}`,
    );
  }
  const Model = await loadModel(m.apiVersion, m.kind);
  if (Model === null) return [`${what}: no schema for ${m.apiVersion} ${m.kind}`];
  try {
    new Model(m).validate();
    return [];
  } catch (error) {
    return [`${what}: ${error instanceof Error ? error.message : String(error)}`];
  }
}
