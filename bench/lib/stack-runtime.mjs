// The settings of services/<name>/stack.env that are runtime choices, not wiring (heap budget,
// malloc arenas, sample interval): what a bench starts a service with to measure it as deployed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

export function stackRuntime(
  name,
  keys = ['NODE_OPTIONS', 'MALLOC_ARENA_MAX', 'SAMPLE_INTERVAL_MS'],
) {
  const text = readFileSync(join(root, 'services', name, 'stack.env'), 'utf8');
  return Object.fromEntries(
    keys.flatMap((k) => {
      const v = new RegExp(`^${k}=(.*)$`, 'm').exec(text)?.[1];
      // As the shell that sources stack.env reads it: a value in quotes is the text inside them.
      return v === undefined ? [] : [[k, v.replace(/^"(.*)"$|^'(.*)'$/, '$1$2')]];
    }),
  );
}
