import { type FieldProblem } from './billing.errors';

/**
 * Text the API accepts anywhere (path parameters, query keys and values, JSON keys and string
 * values): no control characters (C0 U+0000–U+001F, DEL, C1 U+0080–U+009F) and no lone UTF-16
 * surrogates. No field of the API needs them; PostgreSQL cannot store NUL in text (the driver's
 * error used to surface as a 500), a lone surrogate would be stored as U+FFFD (silently another
 * value), and control characters in names end up in CSV, PDF and logs.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Problems reported at most per request: enough to fix it, bounded for hostile input. */
const MAX_PROBLEMS = 10;
/** A field named after a hostile key is shown shortened and escaped. */
const MAX_KEY_CHARS = 64;
/** No field of the API nests this deep; deeper JSON is refused rather than walked. */
const MAX_DEPTH = 32;

/** Why a string is refused, or null when it is acceptable text. */
export function textProblem(value: string): string | null {
  const control = CONTROL.exec(value);
  if (control !== null) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return `must not contain control characters (U+${code} at index ${control.index})`;
  }
  const lone = LONE_SURROGATE.exec(value);
  if (lone !== null) {
    return `must be well-formed Unicode (a lone surrogate at index ${lone.index})`;
  }
  return null;
}

/**
 * Every problem in the request's inputs, each naming its field: path parameters by name
 * (`id`), query parameters by key (`period`), body members by path (`cpu.tiers[0].unitPrice`).
 * JSON nested deeper than MAX_DEPTH is a problem too (and bounds the walk's recursion).
 */
export function findTextProblems(inputs: {
  readonly params?: unknown;
  readonly query?: unknown;
  readonly body?: unknown;
}): FieldProblem[] {
  const out: FieldProblem[] = [];
  walk(inputs.params, '', out, 0);
  walk(inputs.query, '', out, 0);
  walk(inputs.body, '', out, 0);
  return out.slice(0, MAX_PROBLEMS);
}

function walk(value: unknown, path: string, out: FieldProblem[], depth: number): void {
  if (out.length >= MAX_PROBLEMS) return;
  if (depth > MAX_DEPTH && typeof value === 'object' && value !== null) {
    out.push({ field: path, message: `nests deeper than ${MAX_DEPTH} levels` });
    return;
  }
  if (typeof value === 'string') {
    const problem = textProblem(value);
    if (problem !== null) out.push({ field: path === '' ? 'body' : path, message: problem });
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => walk(item, `${path}[${i}]`, out, depth + 1));
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    const keyProblem = textProblem(key);
    const name = fieldName(key);
    const field = path === '' ? name : `${path}.${name}`;
    if (keyProblem !== null) {
      out.push({ field, message: `the key ${keyProblem}` });
      if (out.length >= MAX_PROBLEMS) return;
      continue;
    }
    walk(item, field, out, depth + 1);
  }
}

/** A key as a field name: shortened, control characters and lone surrogates escaped. */
export function fieldName(key: string): string {
  if (key === '') return '""';
  const short = key.length > MAX_KEY_CHARS ? `${key.slice(0, MAX_KEY_CHARS)}…` : key;
  return short.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
