import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  JsonPatchError,
  type Operation,
  applyOperation as applyJsonPatchOperation,
} from 'fast-json-patch';
import { parse } from 'yaml';
import {
  type JsonObject,
  type JsonValue,
  KustomizeError,
  type Tracked,
  asManifest,
  isObject,
} from './kustomize.model';

// Kustomize's `patches` in JSON 6902 form: a target (group, version, kind, name, namespace; each a
// regular expression) and a list of operations, applied by fast-json-patch.

export function applyPatchEntry(
  resources: Tracked[],
  entry: unknown,
  dir: string,
  file: string,
): void {
  if (!isObject(entry)) throw new KustomizeError(`${file}: a patches entry must be a mapping`);
  for (const key of Object.keys(entry)) {
    if (!['patch', 'path', 'target'].includes(key)) {
      throw new KustomizeError(`${file}: patches.${key} is not supported by this renderer`);
    }
  }
  let text: string;
  if (typeof entry.patch === 'string') text = entry.patch;
  else if (typeof entry.path === 'string') text = readFileSync(resolve(dir, entry.path), 'utf8');
  else throw new KustomizeError(`${file}: a patch needs patch or path`);
  const ops: unknown = parse(text);
  if (!Array.isArray(ops)) {
    throw new KustomizeError(
      `${file}: only JSON 6902 patches (a list of operations) are supported by this renderer`,
    );
  }
  const target = entry.target;
  if (!isObject(target)) throw new KustomizeError(`${file}: a JSON 6902 patch needs a target`);
  for (const key of Object.keys(target)) {
    if (!['group', 'version', 'kind', 'name', 'namespace'].includes(key)) {
      throw new KustomizeError(`${file}: target.${key} is not supported by this renderer`);
    }
  }
  const selected = resources.filter((r) => matchesTarget(r, target));
  if (selected.length === 0) {
    throw new KustomizeError(`${file}: patch target ${JSON.stringify(target)} matches nothing`);
  }
  for (const r of selected) {
    let doc: JsonValue = r.manifest;
    for (const op of ops)
      doc = applyOperation(doc, op, `${file} (${r.manifest.kind} ${r.originalName})`);
    r.manifest = asManifest(doc, file);
  }
}

function matchesTarget(r: Tracked, target: JsonObject): boolean {
  const [group, version] = r.manifest.apiVersion.includes('/')
    ? r.manifest.apiVersion.split('/')
    : ['', r.manifest.apiVersion];
  const exact = (pattern: JsonValue | undefined, value: string | undefined): boolean =>
    pattern === undefined ||
    new RegExp(`^(?:${typeof pattern === 'string' ? pattern : JSON.stringify(pattern)})$`).test(
      value ?? '',
    );
  return (
    exact(target.group, group) &&
    exact(target.version, version) &&
    exact(target.kind, r.manifest.kind) &&
    exact(target.name, r.originalName) &&
    exact(
      target.namespace,
      typeof r.manifest.metadata.namespace === 'string' ? r.manifest.metadata.namespace : '',
    )
  );
}

/** Why an operation failed, in the words the renderer's errors use (fast-json-patch's names). */
function patchFailure(
  error: JsonPatchError,
  op: { readonly op: string; readonly path: string; readonly from?: JsonValue | undefined },
): string {
  const from = typeof op.from === 'string' ? op.from : JSON.stringify(op.from);
  switch (error.name) {
    case 'OPERATION_PATH_UNRESOLVABLE':
    case 'OPERATION_PATH_CANNOT_ADD':
    case 'OPERATION_PATH_ILLEGAL_ARRAY_INDEX':
    case 'OPERATION_VALUE_OUT_OF_BOUNDS':
      return `${op.path} does not exist`;
    case 'OPERATION_FROM_UNRESOLVABLE':
      return `${from} does not exist`;
    case 'OPERATION_FROM_REQUIRED':
      return `${op.op} needs from`;
    case 'OPERATION_VALUE_REQUIRED':
      return `${op.op} needs a value`;
    case 'OPERATION_OP_INVALID':
      return `unknown operation ${op.op}`;
    case 'TEST_OPERATION_FAILED':
      return `test ${op.path} failed`;
    case 'SEQUENCE_NOT_AN_ARRAY':
    case 'OPERATION_NOT_AN_OBJECT':
    case 'OPERATION_PATH_INVALID':
    case 'OPERATION_VALUE_CANNOT_CONTAIN_UNDEFINED':
      // The library's message ends with the operation and the whole document: keep its first line.
      return `${op.op} ${op.path}: ${error.message.split('\n')[0] ?? error.name}`;
  }
}

/**
 * RFC 6902 on a JSON document, by fast-json-patch (validated, prototype changes refused); returns
 * the new document. `test` compares by value: deep equality, the order of an object's keys
 * irrelevant. The operation is cloned first, so a value it adds is never shared between the
 * resources one patch targets.
 */
export function applyOperation(doc: JsonValue, op: unknown, where: string): JsonValue {
  if (!isObject(op) || typeof op.op !== 'string' || typeof op.path !== 'string') {
    throw new KustomizeError(`${where}: an operation needs op and path`);
  }
  // The library refuses these too (banPrototypeModifications), with a TypeError: say it our way.
  for (const pointer of [op.path, op.from]) {
    if (
      typeof pointer === 'string' &&
      /(^|\/)(__proto__|constructor|prototype)(\/|$)/.test(pointer)
    ) {
      throw new KustomizeError(`${where}: ${pointer} would change an object prototype`);
    }
  }
  try {
    return applyJsonPatchOperation(doc, structuredClone(op) as unknown as Operation, true, true)
      .newDocument;
  } catch (error) {
    if (error instanceof JsonPatchError) {
      throw new KustomizeError(
        `${where}: ${patchFailure(error, { op: op.op, path: op.path, from: op.from })}`,
      );
    }
    throw error;
  }
}
