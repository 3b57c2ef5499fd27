import { join } from 'node:path';
import ts from 'typescript';
import { type JsonValue, type Manifest } from './kustomize';
import { describeManifest, modelModule } from './k8s-validation';
import { REPO_ROOT } from './workspaces';

/**
 * Unknown fields, which the API server rejects (kubectl's default is strict field validation)
 * but the compiled OpenAPI schemas of kubernetes-models accept: a misspelt `readinesProbe` would
 * otherwise pass as valid and silently do nothing. The TypeScript declarations shipped with the
 * same packages name every field of every type, so each manifest is walked along its type
 * (I<Kind> of the model module) with the TypeScript checker; a key that is no property of the
 * type there is reported. Maps (labels, data, resource quantities) are index signatures: any key.
 */

const VIRTUAL_FILE = join(REPO_ROOT, 'infra/deploy/__manifest-types__.mts');

function typesFor(modules: readonly { specifier: string; kind: string }[]): {
  checker: ts.TypeChecker;
  types: Map<string, ts.Type>;
} {
  const source = modules
    .map(
      ({ specifier, kind }, i) =>
        `import type { I${kind} as T${i} } from '${specifier}';\nexport declare const v${i}: T${i};`,
    )
    .join('\n');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const base = ts.createCompilerHost(options);
  host.getSourceFile = (fileName, languageVersion, ...rest) =>
    fileName === VIRTUAL_FILE
      ? ts.createSourceFile(fileName, source, languageVersion, true)
      : base.getSourceFile(fileName, languageVersion, ...rest);
  host.fileExists = (fileName) => fileName === VIRTUAL_FILE || base.fileExists(fileName);
  host.readFile = (fileName) => (fileName === VIRTUAL_FILE ? source : base.readFile(fileName));
  const program = ts.createProgram([VIRTUAL_FILE], options, host);
  const diagnostics = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === VIRTUAL_FILE);
  if (diagnostics.length > 0) {
    throw new Error(
      `model types not found: ${diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('; ')}`,
    );
  }
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(VIRTUAL_FILE);
  const types = new Map<string, ts.Type>();
  if (file === undefined) throw new Error('virtual source missing');
  const exported = checker.getSymbolAtLocation(file);
  for (const symbol of exported === undefined ? [] : checker.getExportsOfModule(exported)) {
    const index = Number(symbol.getName().slice(1));
    const module = modules[index];
    if (module !== undefined) types.set(`${module.specifier}`, checker.getTypeOfSymbol(symbol));
  }
  return { checker, types };
}

/** The object-like members of a (possibly optional, possibly union) type. */
function objectMembers(checker: ts.TypeChecker, type: ts.Type): ts.Type[] {
  const t = checker.getNonNullableType(type);
  const members = t.isUnion() ? t.types : [t];
  return members.filter((m) => (m.flags & ts.TypeFlags.Object) !== 0 && !checker.isArrayType(m));
}

function isOpen(type: ts.Type): boolean {
  return (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0;
}

function walk(
  checker: ts.TypeChecker,
  value: JsonValue,
  type: ts.Type,
  path: string,
  problems: string[],
): void {
  if (isOpen(type) || value === null || typeof value !== 'object') return;
  const t = checker.getNonNullableType(type);
  if (Array.isArray(value)) {
    const arrays = (t.isUnion() ? t.types : [t]).filter((m) => checker.isArrayType(m));
    const element = arrays
      .map((a) => checker.getTypeArguments(a as ts.TypeReference)[0])
      .find((e): e is ts.Type => e !== undefined);
    if (element === undefined) return;
    value.forEach((item, i) => walk(checker, item, element, `${path}/${i}`, problems));
    return;
  }
  const members = objectMembers(checker, t);
  if (members.length === 0) return;
  for (const [key, child] of Object.entries(value)) {
    const property = members
      .map((m) => m.getProperty(key))
      .find((p): p is ts.Symbol => p !== undefined);
    if (property !== undefined) {
      walk(checker, child, checker.getTypeOfSymbol(property), `${path}/${key}`, problems);
      continue;
    }
    const index = members
      .map((m) => checker.getIndexInfoOfType(m, ts.IndexKind.String))
      .find((i) => i !== undefined);
    if (index !== undefined) walk(checker, child, index.type, `${path}/${key}`, problems);
    else problems.push(`${path}/${key}: unknown field`);
  }
}

/** Unknown fields of every manifest whose kind has model types (Strimzi has its own schema). */
export function unknownFieldProblems(manifests: readonly Manifest[]): string[] {
  const modules = new Map<string, { specifier: string; kind: string }>();
  for (const m of manifests) {
    const specifier = modelModule(m.apiVersion, m.kind);
    if (specifier !== null) modules.set(specifier, { specifier, kind: m.kind });
  }
  if (modules.size === 0) return [];
  const { checker, types } = typesFor([...modules.values()]);
  const problems: string[] = [];
  for (const m of manifests) {
    const specifier = modelModule(m.apiVersion, m.kind);
    const type = specifier === null ? undefined : types.get(specifier);
    if (type === undefined) continue;
    const found: string[] = [];
    walk(checker, m, type, '', found);
    problems.push(...found.map((p) => `${describeManifest(m)}: ${p}`));
  }
  return problems;
}
