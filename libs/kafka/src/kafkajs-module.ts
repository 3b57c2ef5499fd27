import { createRequire } from 'node:module';

// How libs/kafka's patches (kafkajs-encoder.patch.ts, kafkajs-crc32c.patch.ts) put a function of
// their own in place of one of kafkajs's internal modules: the module's entry in Node's require
// cache is given new exports, so every kafkajs module that requires it afterwards gets them. A
// module that required it before keeps the original (each patch gives the same bytes as the
// original, so that is only slower); libs/kafka's index imports the patches first.

const load = createRequire(__filename);

/** A kafkajs module (e.g. 'kafkajs/src/protocol/encoder') as kafkajs's own modules get it. */
export function kafkajsModule<T>(id: string): T {
  return load(load.resolve(id)) as T;
}

/**
 * Replaces what kafkajs's modules get from `id` with `make(original)`, once per process: a
 * replacement carries `marker`, and a module already replaced is left as it is.
 */
export function replaceKafkajsModule<T extends object>(
  id: string,
  marker: symbol,
  make: (original: T) => T,
): void {
  const path = load.resolve(id);
  const original = load(path) as T;
  if (Reflect.get(original, marker) === true) return;
  const cached = load.cache[path];
  if (cached === undefined) return;
  const replacement = make(original);
  Reflect.set(replacement, marker, true);
  cached.exports = replacement;
}
