import { Buffer } from 'node:buffer';
import { type Manifest, podSpecs } from './kustomize';
import { isObject, list, str } from './json-access';

/** Stands in for what only the cluster knows (`fieldRef`, e.g. the node's name). */
const FIELD_PLACEHOLDER = 'node-1';

/**
 * The environment a workload's first container starts with, as Kubernetes builds it: `envFrom`
 * ConfigMaps and Secrets, then `env` in order (values with `$(VAR)` expanded from what came
 * before, `configMapKeyRef` and `secretKeyRef` looked up in the render, `fieldRef` a
 * placeholder). Image ENV is not included.
 */
export function containerEnv(
  manifests: readonly Manifest[],
  workload: Manifest,
): Map<string, string> {
  const find = (kind: string, name: string | undefined): Manifest | undefined =>
    manifests.find((m) => m.kind === kind && m.metadata.name === name);
  const dataOf = (kind: 'ConfigMap' | 'Secret', name: string | undefined): Map<string, string> => {
    const m = find(kind, name);
    const out = new Map<string, string>();
    if (m === undefined) return out;
    if (isObject(m.data)) {
      for (const [k, v] of Object.entries(m.data)) {
        const text = str(v) ?? '';
        out.set(k, kind === 'Secret' ? Buffer.from(text, 'base64').toString('utf8') : text);
      }
    }
    if (kind === 'Secret' && isObject(m.stringData)) {
      for (const [k, v] of Object.entries(m.stringData)) out.set(k, str(v) ?? '');
    }
    return out;
  };
  const env = new Map<string, string>();
  const container = list(podSpecs(workload)[0]?.containers).find(isObject);
  if (container === undefined) return env;
  for (const source of list(container.envFrom).filter(isObject)) {
    if (isObject(source.configMapRef)) {
      for (const [k, v] of dataOf('ConfigMap', str(source.configMapRef.name))) env.set(k, v);
    }
    if (isObject(source.secretRef)) {
      for (const [k, v] of dataOf('Secret', str(source.secretRef.name))) env.set(k, v);
    }
  }
  for (const e of list(container.env).filter(isObject)) {
    const name = str(e.name) ?? '';
    const from = isObject(e.valueFrom) ? e.valueFrom : undefined;
    if (from === undefined) {
      // $(VAR) refers to a variable defined before; $$ escapes; unknown ones stay as they are.
      const raw = str(e.value) ?? '';
      env.set(
        name,
        raw.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, v: string | undefined) =>
          v === undefined ? '$' : (env.get(v) ?? all),
        ),
      );
    } else if (isObject(from.configMapKeyRef)) {
      const ref = from.configMapKeyRef;
      env.set(name, dataOf('ConfigMap', str(ref.name)).get(str(ref.key) ?? '') ?? '');
    } else if (isObject(from.secretKeyRef)) {
      const ref = from.secretKeyRef;
      env.set(name, dataOf('Secret', str(ref.name)).get(str(ref.key) ?? '') ?? '');
    } else {
      env.set(name, FIELD_PLACEHOLDER);
    }
  }
  return env;
}
