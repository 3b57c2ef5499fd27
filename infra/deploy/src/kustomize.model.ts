// The renderer's model, shared by its parts (kustomize.ts, kustomize-patches.ts): JSON values,
// manifests, the resources on their way through a build, and the renderer's one error.

export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface Manifest extends JsonObject {
  apiVersion: string;
  kind: string;
  metadata: JsonObject & { name: string };
}

export class KustomizeError extends Error {
  readonly code = 'KUSTOMIZE_INVALID';
}

/** A resource on its way through the build, with what Kustomize tracks beside it. */
export interface Tracked {
  manifest: Manifest;
  /** Name before the hash suffix (what overlays' generators and patches match on). */
  originalName: string;
  /** Generated with a content-hash suffix still to be appended. */
  hashSuffix: boolean;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asManifest(doc: unknown, source: string): Manifest {
  if (!isObject(doc)) throw new KustomizeError(`${source}: a resource must be a mapping`);
  const { apiVersion, kind, metadata } = doc;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    throw new KustomizeError(`${source}: a resource needs apiVersion and kind`);
  }
  if (!isObject(metadata) || typeof metadata.name !== 'string' || metadata.name === '') {
    throw new KustomizeError(`${source}: ${kind} without metadata.name`);
  }
  return doc as Manifest;
}
