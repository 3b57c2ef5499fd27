import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { applyPatchEntry } from './kustomize-patches';
import {
  type JsonObject,
  type JsonValue,
  KustomizeError,
  type Manifest,
  type Tracked,
  asManifest,
  isObject,
} from './kustomize.model';

export { type JsonObject, type JsonValue, KustomizeError, type Manifest } from './kustomize.model';
export { applyOperation } from './kustomize-patches';

/**
 * A Kustomize renderer for the subset of Kustomize that k8s/ uses, because neither kustomize nor
 * kubectl can be installed from the registries CI reaches. Anything outside the subset is an
 * error, never silently ignored, so a kustomization that uses more fails the tests instead of
 * rendering something kubectl would not.
 *
 * Supported: resources (files and kustomization folders), namespace, configMapGenerator and
 * secretGenerator (literals, files, envs; behavior create|merge|replace; options and
 * generatorOptions), patches in JSON 6902 form with a kind/name/group/version target (applied by
 * fast-json-patch), images.
 * Generated names get Kustomize's own content hash (the same suffix `kubectl kustomize` prints)
 * and references to them in pod specs follow. The patches are in kustomize-patches.ts, the model
 * the parts share (JSON values, manifests, the error) in kustomize.model.ts.
 */

const KUSTOMIZATION_FIELDS = new Set([
  'apiVersion',
  'kind',
  'namespace',
  'resources',
  'configMapGenerator',
  'secretGenerator',
  'generatorOptions',
  'patches',
  'images',
]);

/** Kinds without a namespace (the ones a kustomization here could plausibly hold). */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
]);

const FILE_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

function kustomizationFile(dir: string): string {
  const file = FILE_NAMES.map((f) => join(dir, f)).find((f) => existsSync(f));
  if (file === undefined) throw new KustomizeError(`${dir}: no kustomization.yaml`);
  return file;
}

function readYamlDocuments(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  const out: unknown[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      throw new KustomizeError(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    }
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

/** Renders the kustomization in `dir` into the manifests `kubectl kustomize dir` would print. */
export function renderKustomization(dir: string): Manifest[] {
  const tracked = build(resolve(dir));
  return finalize(tracked);
}

function build(dir: string): Tracked[] {
  const file = kustomizationFile(dir);
  const raw: unknown = parse(readFileSync(file, 'utf8'));
  if (!isObject(raw)) throw new KustomizeError(`${file}: not a mapping`);
  for (const key of Object.keys(raw)) {
    if (!KUSTOMIZATION_FIELDS.has(key)) {
      throw new KustomizeError(`${file}: "${key}" is not supported by this renderer`);
    }
  }
  if (raw.kind !== undefined && raw.kind !== 'Kustomization') {
    throw new KustomizeError(`${file}: kind ${JSON.stringify(raw.kind)} is not supported`);
  }

  let resources: Tracked[] = [];
  for (const entry of stringList(raw.resources, `${file}: resources`)) {
    const path = resolve(dir, entry);
    if (!existsSync(path)) throw new KustomizeError(`${file}: resource ${entry} does not exist`);
    if (statSync(path).isDirectory()) {
      resources.push(...build(path));
    } else {
      for (const doc of readYamlDocuments(path)) {
        const manifest = asManifest(doc, path);
        resources.push({ manifest, originalName: manifest.metadata.name, hashSuffix: false });
      }
    }
  }

  const options = isObject(raw.generatorOptions) ? raw.generatorOptions : {};
  for (const kind of ['ConfigMap', 'Secret'] as const) {
    const field = kind === 'ConfigMap' ? 'configMapGenerator' : 'secretGenerator';
    const generators = raw[field];
    if (generators === undefined) continue;
    if (!Array.isArray(generators)) throw new KustomizeError(`${file}: ${field} must be a list`);
    for (const generator of generators) {
      if (!isObject(generator)) throw new KustomizeError(`${file}: ${field} entry not a mapping`);
      resources = applyGenerator(resources, kind, generator, options, dir, file);
    }
  }

  const namespace = raw.namespace;
  if (namespace !== undefined) {
    if (typeof namespace !== 'string') throw new KustomizeError(`${file}: namespace not a string`);
    for (const r of resources) {
      if (!CLUSTER_SCOPED.has(r.manifest.kind)) r.manifest.metadata.namespace = namespace;
    }
  }

  const patches = raw.patches;
  if (patches !== undefined) {
    if (!Array.isArray(patches)) throw new KustomizeError(`${file}: patches must be a list`);
    for (const patch of patches) applyPatchEntry(resources, patch, dir, file);
  }

  const images = raw.images;
  if (images !== undefined) {
    if (!Array.isArray(images)) throw new KustomizeError(`${file}: images must be a list`);
    for (const image of images) {
      if (!isObject(image) || typeof image.name !== 'string') {
        throw new KustomizeError(`${file}: an images entry needs a name`);
      }
      for (const r of resources) rewriteImages(r.manifest, image);
    }
  }

  assertUnique(resources, file);
  return resources;
}

function stringList(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new KustomizeError(`${what} must be a list of strings`);
  }
  return value as string[];
}

function resourceId(m: Manifest, name: string = m.metadata.name): string {
  const ns = typeof m.metadata.namespace === 'string' ? m.metadata.namespace : '~';
  return `${m.apiVersion}/${m.kind}/${ns}/${name}`;
}

function assertUnique(resources: Tracked[], file: string): void {
  const seen = new Set<string>();
  for (const r of resources) {
    const id = resourceId(r.manifest, r.originalName);
    if (seen.has(id)) throw new KustomizeError(`${file}: ${id} is defined twice`);
    seen.add(id);
  }
}

// ---------------------------------------------------------------- generators

function generatedData(generator: JsonObject, dir: string, file: string): Map<string, string> {
  const data = new Map<string, string>();
  for (const literal of stringList(generator.literals, `${file}: literals`)) {
    const eq = literal.indexOf('=');
    if (eq <= 0) throw new KustomizeError(`${file}: literal "${literal}" is not KEY=VALUE`);
    let value = literal.slice(eq + 1);
    // Kustomize drops one pair of surrounding quotes.
    if (/^(["']).*\1$/s.test(value) && value.length >= 2) value = value.slice(1, -1);
    data.set(literal.slice(0, eq), value);
  }
  for (const entry of stringList(generator.files, `${file}: files`)) {
    const eq = entry.indexOf('=');
    const key = eq > 0 ? entry.slice(0, eq) : basename(entry);
    const path = resolve(dir, eq > 0 ? entry.slice(eq + 1) : entry);
    if (!path.startsWith(dir + '/')) {
      // Kustomize's default load restrictor: nothing outside the kustomization's folder.
      throw new KustomizeError(`${file}: ${entry} is outside ${dir}`);
    }
    if (!existsSync(path)) throw new KustomizeError(`${file}: file ${entry} does not exist`);
    data.set(key, readFileSync(path, 'utf8'));
  }
  for (const entry of stringList(generator.envs, `${file}: envs`)) {
    const path = resolve(dir, entry);
    if (!existsSync(path)) throw new KustomizeError(`${file}: env file ${entry} does not exist`);
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const text = line.trim();
      if (text === '' || text.startsWith('#')) continue;
      const eq = text.indexOf('=');
      if (eq <= 0) throw new KustomizeError(`${path}: "${text}" is not KEY=VALUE`);
      data.set(text.slice(0, eq), text.slice(eq + 1));
    }
  }
  return data;
}

function applyGenerator(
  resources: Tracked[],
  kind: 'ConfigMap' | 'Secret',
  generator: JsonObject,
  globalOptions: JsonObject,
  dir: string,
  file: string,
): Tracked[] {
  const name = generator.name;
  if (typeof name !== 'string' || name === '') {
    throw new KustomizeError(`${file}: a ${kind} generator needs a name`);
  }
  const behavior = generator.behavior ?? 'create';
  const options = isObject(generator.options) ? generator.options : {};
  const disableHash =
    (options.disableNameSuffixHash ?? globalOptions.disableNameSuffixHash ?? false) === true;
  const data = generatedData(generator, dir, file);
  const namespace = typeof generator.namespace === 'string' ? generator.namespace : undefined;

  const matches = resources.filter(
    (r) =>
      r.manifest.kind === kind &&
      r.originalName === name &&
      (namespace === undefined || r.manifest.metadata.namespace === namespace),
  );

  if (behavior === 'merge' || behavior === 'replace') {
    const target = matches[0];
    if (matches.length !== 1 || target === undefined) {
      throw new KustomizeError(`${file}: ${behavior} of ${kind} ${name}, found ${matches.length}`);
    }
    const existing = isObject(target.manifest.data) ? target.manifest.data : {};
    const merged: JsonObject = behavior === 'merge' ? { ...existing } : {};
    for (const [key, value] of data) merged[key] = kind === 'Secret' ? base64(value) : value;
    target.manifest.data = sortKeys(merged);
    if (generator.type !== undefined && kind === 'Secret') target.manifest.type = generator.type;
    target.hashSuffix = target.hashSuffix && !disableHash;
    return resources;
  }
  if (behavior !== 'create')
    throw new KustomizeError(`${file}: unknown behavior ${JSON.stringify(behavior)}`);
  if (matches.length > 0) throw new KustomizeError(`${file}: ${kind} ${name} already exists`);

  const metadata: JsonObject & { name: string } = { name };
  if (namespace !== undefined) metadata.namespace = namespace;
  for (const field of ['labels', 'annotations'] as const) {
    const merged = {
      ...(isObject(globalOptions[field]) ? globalOptions[field] : {}),
      ...(isObject(options[field]) ? options[field] : {}),
    };
    if (Object.keys(merged).length > 0) metadata[field] = merged;
  }
  const values: JsonObject = {};
  for (const [key, value] of data) values[key] = kind === 'Secret' ? base64(value) : value;
  const manifest: Manifest = { apiVersion: 'v1', kind, metadata };
  if (Object.keys(values).length > 0) manifest.data = sortKeys(values);
  if (kind === 'Secret') {
    manifest.type = typeof generator.type === 'string' ? generator.type : 'Opaque';
  }
  return [...resources, { manifest, originalName: name, hashSuffix: !disableHash }];
}

function base64(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64');
}

function sortKeys(obj: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Go's encoding/json: sorted keys, no spaces, <, > and & escaped. */
function goJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') {
    return JSON.stringify(value).replace(
      /[<>&\u2028\u2029]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  }
  if (Array.isArray(value)) return `[${value.map(goJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${goJson(k)}:${goJson(value[k] ?? null)}`).join(',')}}`;
}

/**
 * Kustomize's name suffix (api/hasher): sha256 over the JSON of kind, data (and type for a
 * Secret) and a name that Kustomize 5 looks up as one field called "metadata/name", so it is
 * always empty; first ten hex digits with 0,1,3,a,e swapped for letters.
 */
export function kustomizeHash(manifest: Manifest): string {
  const data = isObject(manifest.data) ? manifest.data : null;
  const doc: JsonObject = { kind: manifest.kind, name: '', data };
  if (manifest.kind === 'Secret') doc.type = manifest.type ?? '';
  if (manifest.kind === 'ConfigMap' && isObject(manifest.binaryData)) {
    doc.binaryData = manifest.binaryData;
  }
  if (manifest.kind === 'Secret' && isObject(manifest.stringData)) {
    doc.stringData = manifest.stringData;
  }
  const hex = createHash('sha256').update(goJson(doc)).digest('hex');
  const swap: Record<string, string> = { '0': 'g', '1': 'h', '3': 'k', a: 'm', e: 't' };
  return [...hex.slice(0, 10)].map((c) => swap[c] ?? c).join('');
}

// ---------------------------------------------------------------- images

/** Splits "registry:5000/repo/name:tag@sha256:…" into name, tag and digest. */
export function splitImage(image: string): {
  name: string;
  tag?: string | undefined;
  digest?: string | undefined;
} {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    return { name: rest.slice(0, colon), tag: rest.slice(colon + 1), digest };
  }
  return { name: rest, digest };
}

function rewriteImages(node: JsonValue, rule: JsonObject): void {
  if (Array.isArray(node)) {
    for (const item of node) rewriteImages(item, rule);
    return;
  }
  if (!isObject(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if ((key === 'containers' || key === 'initContainers') && Array.isArray(value)) {
      for (const container of value) {
        if (!isObject(container) || typeof container.image !== 'string') continue;
        const image = splitImage(container.image);
        if (image.name !== rule.name) continue;
        const name = typeof rule.newName === 'string' ? rule.newName : image.name;
        if (typeof rule.digest === 'string') container.image = `${name}@${rule.digest}`;
        else if (rule.newTag !== undefined && rule.newTag !== null) {
          container.image = `${name}:${typeof rule.newTag === 'string' ? rule.newTag : JSON.stringify(rule.newTag)}`;
        } else {
          const tag = image.tag === undefined ? '' : `:${image.tag}`;
          container.image = `${name}${tag}${image.digest === undefined ? '' : `@${image.digest}`}`;
        }
      }
    } else rewriteImages(value, rule);
  }
}

// ---------------------------------------------------------------- names

/** Appends hash suffixes and points every reference in pod specs at the new names. */
function finalize(tracked: Tracked[]): Manifest[] {
  const renames = new Map<string, string>();
  for (const r of tracked) {
    if (!r.hashSuffix) continue;
    const newName = `${r.originalName}-${kustomizeHash(r.manifest)}`;
    renames.set(refKey(r.manifest.kind, r.manifest.metadata.namespace, r.originalName), newName);
    r.manifest.metadata.name = newName;
  }
  for (const r of tracked) {
    for (const spec of podSpecs(r.manifest))
      renameReferences(spec, r.manifest.metadata.namespace, renames);
  }
  return tracked.map((r) => r.manifest);
}

function refKey(kind: string, namespace: JsonValue | undefined, name: string): string {
  return `${kind}/${typeof namespace === 'string' ? namespace : ''}/${name}`;
}

/** Pod specs of the workload kinds (template.spec), of a Pod and of a CronJob. */
export function podSpecs(m: Manifest): JsonObject[] {
  const spec = m.spec;
  if (!isObject(spec)) return [];
  if (m.kind === 'Pod') return [spec];
  const specs: JsonObject[] = [];
  const template = spec.template;
  if (isObject(template) && isObject(template.spec)) specs.push(template.spec);
  const jobTemplate = spec.jobTemplate;
  if (isObject(jobTemplate) && isObject(jobTemplate.spec)) {
    const inner = jobTemplate.spec.template;
    if (isObject(inner) && isObject(inner.spec)) specs.push(inner.spec);
  }
  return specs;
}

function renameReferences(
  spec: JsonObject,
  namespace: JsonValue | undefined,
  renames: Map<string, string>,
): void {
  const rename = (kind: string, holder: JsonValue | undefined, field: string): void => {
    if (!isObject(holder) || typeof holder[field] !== 'string') return;
    const next = renames.get(refKey(kind, namespace, holder[field]));
    if (next !== undefined) holder[field] = next;
  };
  const containers = [spec.containers, spec.initContainers].flatMap((c) =>
    Array.isArray(c) ? c : [],
  );
  for (const container of containers) {
    if (!isObject(container)) continue;
    for (const source of Array.isArray(container.envFrom) ? container.envFrom : []) {
      if (!isObject(source)) continue;
      rename('ConfigMap', source.configMapRef, 'name');
      rename('Secret', source.secretRef, 'name');
    }
    for (const env of Array.isArray(container.env) ? container.env : []) {
      if (!isObject(env) || !isObject(env.valueFrom)) continue;
      rename('ConfigMap', env.valueFrom.configMapKeyRef, 'name');
      rename('Secret', env.valueFrom.secretKeyRef, 'name');
    }
  }
  for (const volume of Array.isArray(spec.volumes) ? spec.volumes : []) {
    if (!isObject(volume)) continue;
    rename('ConfigMap', volume.configMap, 'name');
    rename('Secret', volume.secret, 'secretName');
    const projected = volume.projected;
    if (isObject(projected) && Array.isArray(projected.sources)) {
      for (const source of projected.sources) {
        if (!isObject(source)) continue;
        rename('ConfigMap', source.configMap, 'name');
        rename('Secret', source.secret, 'name');
      }
    }
  }
  for (const pullSecret of Array.isArray(spec.imagePullSecrets) ? spec.imagePullSecrets : []) {
    rename('Secret', pullSecret, 'name');
  }
}
