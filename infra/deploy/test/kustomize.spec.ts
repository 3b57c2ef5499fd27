import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  KustomizeError,
  applyOperation,
  kustomizeHash,
  type Manifest,
  renderKustomization,
  splitImage,
} from '../src/kustomize';

// The renderer stands in for `kubectl kustomize`, which CI cannot install. Its generated names
// were compared with kubectl kustomize (Kustomize v5.5.0) on all of k8s/ and match exactly;
// the hashes below are kubectl's own output for these inputs.
const root = mkdtempSync(join(tmpdir(), 'kustomize-spec-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

function folder(files: Record<string, string>): string {
  const dir = join(root, String(n++));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: web
          image: example/web:1.0
          envFrom:
            - configMapRef: { name: settings }
          env:
            - name: PASSWORD
              valueFrom:
                secretKeyRef: { name: creds, key: password }
`;

describe('kustomize renderer', () => {
  test("generated names carry Kustomize's content hash", () => {
    const configMap: Manifest = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings' },
      data: { A: '1', B: 'two' },
    };
    const secret: Manifest = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds' },
      type: 'Opaque',
      data: { password: 'eA==' },
    };
    assert.equal(kustomizeHash(configMap), '6b56fdfggc');
    assert.equal(kustomizeHash(secret), 'ht28g67h7c');
  });

  test('generators, namespace, references, patches and images in a base and an overlay', () => {
    const dir = folder({
      'base/kustomization.yaml': `namespace: shop
resources: [deployment.yaml]
configMapGenerator:
  - name: settings
    literals: [A=1, B=two]
secretGenerator:
  - name: creds
    literals: [password=x]
`,
      'base/deployment.yaml': deployment,
      'overlay/kustomization.yaml': `resources: [../base]
images:
  - name: example/web
    newName: registry.example.com/web
    newTag: '2.0'
configMapGenerator:
  - name: settings
    behavior: merge
    literals: [B=three]
patches:
  - target: { kind: Deployment, name: web }
    patch: |-
      - op: replace
        path: /spec/replicas
        value: 1
`,
    });
    const base = renderKustomization(join(dir, 'base'));
    const names = base
      .map((m) => `${m.kind}/${JSON.stringify(m.metadata.namespace)}/${m.metadata.name}`)
      .sort();
    assert.deepEqual(names, [
      'ConfigMap/"shop"/settings-6b56fdfggc',
      'Deployment/"shop"/web',
      'Secret/"shop"/creds-ht28g67h7c',
    ]);

    const overlay = renderKustomization(join(dir, 'overlay'));
    const web = overlay.find((m) => m.kind === 'Deployment');
    const settings = overlay.find((m) => m.kind === 'ConfigMap');
    assert.ok(web && settings);
    assert.deepEqual(settings.data, { A: '1', B: 'three' });
    assert.notEqual(settings.metadata.name, 'settings-6b56fdfggc', 'new content, new hash');
    const spec = web.spec as {
      replicas: number;
      template: {
        spec: {
          containers: {
            image: string;
            envFrom: { configMapRef: { name: string } }[];
            env: { valueFrom: { secretKeyRef: { name: string } } }[];
          }[];
        };
      };
    };
    const container = spec.template.spec.containers[0];
    assert.equal(spec.replicas, 1);
    assert.equal(container?.image, 'registry.example.com/web:2.0');
    assert.equal(container?.envFrom[0]?.configMapRef.name, settings.metadata.name);
    assert.equal(container?.env[0]?.valueFrom.secretKeyRef.name, 'creds-ht28g67h7c');
  });

  test('refuses what it does not implement instead of rendering something else', () => {
    const unsupported = folder({ 'kustomization.yaml': 'resources: []\ncommonLabels: { a: b }\n' });
    assert.throws(() => renderKustomization(unsupported), /commonLabels.*not supported/);
    const strategic = folder({
      'kustomization.yaml': `resources: [d.yaml]
patches:
  - patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata: { name: web }
      spec: { replicas: 1 }
`,
      'd.yaml': deployment,
    });
    assert.throws(() => renderKustomization(strategic), /only JSON 6902 patches/);
  });

  test('rejects patches that match nothing or point nowhere, and files outside the root', () => {
    const nothing = folder({
      'kustomization.yaml': `resources: [d.yaml]
patches:
  - target: { kind: Deployment, name: api }
    patch: '[{"op": "replace", "path": "/spec/replicas", "value": 1}]'
`,
      'd.yaml': deployment,
    });
    assert.throws(() => renderKustomization(nothing), /matches nothing/);
    const nowhere = folder({
      'kustomization.yaml': `resources: [d.yaml]
patches:
  - target: { kind: Deployment }
    patch: '[{"op": "replace", "path": "/spec/paused", "value": true}]'
`,
      'd.yaml': deployment,
    });
    assert.throws(() => renderKustomization(nowhere), /\/spec\/paused does not exist/);
    const outside = folder({
      'k/kustomization.yaml': 'configMapGenerator:\n  - name: x\n    files: [../secret.txt]\n',
      'secret.txt': 'x',
    });
    assert.throws(() => renderKustomization(join(outside, 'k')), KustomizeError);
  });

  test("a patch's test operation compares by value: key order is irrelevant, a different value fails", () => {
    // The deployment's secretKeyRef is { name: creds, key: password }; the test names its keys
    // the other way round, and the operation after it applies only if the test passed.
    const patchWith = (ref: string) =>
      folder({
        'kustomization.yaml': `resources: [d.yaml]
patches:
  - target: { kind: Deployment, name: web }
    patch: |-
      - op: test
        path: /spec/template/spec/containers/0/env/0/valueFrom
        value: { secretKeyRef: ${ref} }
      - op: replace
        path: /spec/replicas
        value: 1
`,
        'd.yaml': deployment,
      });
    const [reordered] = renderKustomization(patchWith('{ key: password, name: creds }'));
    assert.equal((reordered?.spec as { replicas?: number } | undefined)?.replicas, 1);
    assert.throws(
      () => renderKustomization(patchWith('{ key: password, name: other }')),
      /test \/spec\/template\/spec\/containers\/0\/env\/0\/valueFrom failed/,
    );
    assert.throws(
      () => renderKustomization(patchWith('{ key: password, name: creds, optional: true }')),
      KustomizeError,
    );
  });

  test('patch operations from the library keep their meaning and errors', () => {
    const doc = { a: { b: [1, 2] }, c: 'x' };
    assert.deepEqual(
      applyOperation(structuredClone(doc), { op: 'add', path: '/a/b/-', value: 3 }, 'w'),
      { a: { b: [1, 2, 3] }, c: 'x' },
    );
    assert.deepEqual(
      applyOperation(structuredClone(doc), { op: 'move', from: '/c', path: '/a/d' }, 'w'),
      { a: { b: [1, 2], d: 'x' } },
    );
    assert.deepEqual(
      applyOperation(structuredClone(doc), { op: 'copy', from: '/a/b', path: '/e' }, 'w'),
      { a: { b: [1, 2] }, c: 'x', e: [1, 2] },
    );
    assert.deepEqual(applyOperation(structuredClone(doc), { op: 'remove', path: '/a' }, 'w'), {
      c: 'x',
    });
    assert.throws(
      () => applyOperation(structuredClone(doc), { op: 'replace', path: '/z', value: 1 }, 'w'),
      /w: \/z does not exist/,
    );
    assert.throws(
      () => applyOperation(structuredClone(doc), { op: 'remove', path: '/a/b/5' }, 'w'),
      /w: \/a\/b\/5 does not exist/,
    );
    assert.throws(
      () => applyOperation(structuredClone(doc), { op: 'replace', path: '/c' }, 'w'),
      /w: replace needs a value/,
    );
    assert.throws(
      () => applyOperation(structuredClone(doc), { op: 'merge', path: '/c' }, 'w'),
      /w: unknown operation merge/,
    );
    assert.throws(
      () => applyOperation({}, { op: 'add', path: '/__proto__/polluted', value: 1 }, 'w'),
      /w: \/__proto__\/polluted would change an object prototype/,
    );
    assert.equal(({} as { polluted?: number }).polluted, undefined);
  });

  test('rejects a resource defined twice and a resource without a name', () => {
    const twice = folder({
      'kustomization.yaml': 'resources: [a.yaml, b.yaml]\n',
      'a.yaml': deployment,
      'b.yaml': deployment,
    });
    assert.throws(() => renderKustomization(twice), /defined twice/);
    const nameless = folder({
      'kustomization.yaml': 'resources: [a.yaml]\n',
      'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n',
    });
    assert.throws(() => renderKustomization(nameless), /without metadata.name/);
  });

  test('splits image references the way Kustomize does', () => {
    assert.deepEqual(splitImage('registry:5000/team/app:1.2'), {
      name: 'registry:5000/team/app',
      tag: '1.2',
      digest: undefined,
    });
    assert.deepEqual(splitImage('app@sha256:abc'), { name: 'app', digest: 'sha256:abc' });
    assert.deepEqual(splitImage('registry:5000/app'), {
      name: 'registry:5000/app',
      digest: undefined,
    });
  });
});
