import { createRequire } from 'node:module';

const load = createRequire(__filename);

/**
 * A kafkajs module as it ships (e.g. 'kafkajs/src/consumer/batch'), for the patches' specs to hold
 * theirs to: evaluated again beside the patched one, which stays in the require cache.
 */
export function originalKafkajsModule<T>(id: string): T {
  const path = load.resolve(id);
  const patched = load.cache[path];
  delete load.cache[path];
  try {
    return load(path) as T;
  } finally {
    if (patched !== undefined) load.cache[path] = patched;
  }
}
