import { type z } from 'zod';
import { CONFIG_EXIT_CODE, ConfigError, type ConfigErrorOptions } from './config-error';

/** The environment as a service reads it. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The variables that are set. An empty or blank value counts as unset, so `FOO=` in an env
 * file (or an empty value in a manifest) means "use the default".
 */
export function presentEnv(env: Env): Record<string, string> {
  const present: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') present[name] = value;
  }
  return present;
}

/**
 * Parses the environment with a schema; throws one ConfigError that names every invalid
 * setting (the first as its `setting`).
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Env,
  options: Pick<ConfigErrorOptions, 'service'> = {},
): z.output<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const [first, ...rest] = parsed.error.issues.map((issue) => ({
    // The variable, not a path inside its value (LIBVIRT_URIS, not LIBVIRT_URIS.0).
    setting: issue.path.length === 0 ? 'environment' : String(issue.path[0]),
    problem: issue.message,
  }));
  throw new ConfigError(first?.setting ?? 'environment', first?.problem ?? 'invalid', {
    ...options,
    more: rest,
  });
}

/** A library's own configuration error: it names the setting and the problem. */
export type LibConfigErrorClass = abstract new (
  ...args: never[]
) => Error & { readonly setting: string; readonly problem: string };

/**
 * Runs a library's reader of its settings (libs/kafka kafkaConfigFromEnv, libs/spool
 * spoolSettingsFromEnv …): its configuration error, one of `errors`, becomes a ConfigError
 * naming the same setting; anything else is rethrown as it is.
 */
export function fromLib<T>(
  read: () => T,
  errors: readonly LibConfigErrorClass[],
  options: Pick<ConfigErrorOptions, 'service'> = {},
): T {
  try {
    return read();
  } catch (error) {
    const known = errors.find((type) => error instanceof type);
    if (known === undefined) throw error;
    const { setting, problem } = error as { readonly setting: string; readonly problem: string };
    throw new ConfigError(setting, problem, options);
  }
}

/**
 * A service's entry: its configuration, or one line naming the bad setting on stderr and exit
 * CONFIG_EXIT_CODE (no stack trace for a configuration mistake). Other errors are rethrown.
 */
export function loadOrExit<T>(service: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${service}: invalid configuration: ${error.detail}\n`);
    process.exit(CONFIG_EXIT_CODE);
  }
}
