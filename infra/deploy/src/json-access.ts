import { type JsonObject, type JsonValue } from './kustomize';

/** Reading rendered manifests (JSON of unknown shape) without casts. */

export const isObject = (v: JsonValue | undefined): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export const list = (v: JsonValue | undefined): JsonValue[] => (Array.isArray(v) ? v : []);

export const str = (v: JsonValue | undefined): string | undefined =>
  typeof v === 'string' ? v : undefined;

/** A value for a message. */
export const show = (v: JsonValue | undefined): string =>
  typeof v === 'string' ? v : (JSON.stringify(v) ?? 'nothing');
