import { statSync } from 'node:fs';
import {
  HOST_AUTH_HEADER,
  type HostKey,
  type HostKeyLookup,
  hostAuthHeader,
  masterKeyLookup,
  parseHostKeyFile,
} from '@metering/contracts';
import { secretWeakness } from '@metering/observability';
import { KafkaConfigError } from './kafka.errors';
import { type SettingFileReader, readSettingText } from './kafka-security.config';

// Settings of the per-host identity of samples (docs/adr/0010-host-identity.md):
//   HOST_AUTH            required | off; unset: required when a key file is set, else off —
//                        except that NODE_ENV=production refuses to run without a key file
//                        unless HOST_AUTH=off says so.
//   HOST_AUTH_KEY_FILE   a collector's own key ("<key id> <hex>", one line)
//   HOST_AUTH_KEYS_FILE  rating's master keys (one per line; two during a rotation)

type Env = Readonly<Record<string, string | undefined>>;

function hostAuthFile(env: Env, setting: string): string | null {
  const mode = env.HOST_AUTH?.trim() ?? '';
  if (mode !== '' && mode !== 'required' && mode !== 'off') {
    throw new KafkaConfigError('HOST_AUTH', 'must be required or off');
  }
  const path = env[setting]?.trim() ?? '';
  if (mode === 'off') {
    if (path !== '') {
      throw new KafkaConfigError('HOST_AUTH', `off contradicts ${setting}; unset one of them`);
    }
    return null;
  }
  if (path !== '') return path;
  if (mode === 'required') {
    throw new KafkaConfigError(setting, 'required with HOST_AUTH=required');
  }
  if (env.NODE_ENV === 'production') {
    throw new KafkaConfigError(
      setting,
      'required with NODE_ENV=production (set HOST_AUTH=off to run without per-host identity)',
    );
  }
  return null;
}

function readKeys(
  env: Env,
  setting: string,
  path: string,
  readFile?: SettingFileReader,
): HostKey[] {
  const text = readSettingText(setting, path, readFile);
  let keys: HostKey[];
  try {
    keys = parseHostKeyFile(text);
  } catch (error) {
    throw new KafkaConfigError(setting, `${JSON.stringify(path)}: ${(error as Error).message}`);
  }
  if (env.NODE_ENV === 'production') {
    for (const { keyId, key } of keys) {
      const weakness = /insecure/i.test(keyId)
        ? 'its key id marks a published development key'
        : secretWeakness(key.toString('hex'));
      if (weakness !== null) {
        throw new KafkaConfigError(
          setting,
          `key id "${keyId}" refused with NODE_ENV=production: ${weakness}`,
        );
      }
    }
  }
  return keys;
}

/** Rating's check: the lookup over the master keys, or null when HOST_AUTH is off. */
export function hostKeysFromEnv(env: Env, readFile?: SettingFileReader): HostKeyLookup | null {
  const path = hostAuthFile(env, 'HOST_AUTH_KEYS_FILE');
  if (path === null) return null;
  return masterKeyLookup(readKeys(env, 'HOST_AUTH_KEYS_FILE', path, readFile));
}

/** Signs records with a host's key; `headers` is what a record carries. */
export interface HostSigner {
  headers(key: Buffer, value: Buffer): Record<string, string>;
}

/** A collector's key file, validated (read once), or null when HOST_AUTH is off. */
export interface HostKeyFileSetting {
  readonly path: string;
  /** NODE_ENV=production: a reloaded key must pass the secret rules too. */
  readonly production: boolean;
}

export function hostKeyFileFromEnv(
  env: Env,
  readFile?: SettingFileReader,
): HostKeyFileSetting | null {
  const path = hostAuthFile(env, HOST_KEY_FILE);
  if (path === null) return null;
  const setting = { path, production: env.NODE_ENV === 'production' };
  loadHostKey(setting, readFile);
  return setting;
}

const HOST_KEY_FILE = 'HOST_AUTH_KEY_FILE';

function loadHostKey(setting: HostKeyFileSetting, readFile?: SettingFileReader): HostKey {
  const env = setting.production ? { NODE_ENV: 'production' } : {};
  const keys = readKeys(env, HOST_KEY_FILE, setting.path, readFile);
  if (keys.length !== 1) {
    throw new KafkaConfigError(
      HOST_KEY_FILE,
      `a host's key file holds one key, found ${keys.length}`,
    );
  }
  return keys[0]!;
}

/**
 * A collector's signer over its key file. The file is read now and again whenever it changes
 * (checked at most every `recheckMs`), so a rotated key is used without a restart; a file that
 * became unreadable or invalid keeps the last good key and reports through `onReloadError`.
 */
export function fileHostSigner(
  setting: HostKeyFileSetting,
  options: {
    recheckMs?: number;
    onReloadError?: (error: unknown) => void;
    readFile?: SettingFileReader;
    now?: () => number;
  } = {},
): HostSigner {
  const recheckMs = options.recheckMs ?? 5_000;
  const now = options.now ?? Date.now;
  const stamp = (): string => {
    try {
      const s = statSync(setting.path);
      return `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      return 'missing';
    }
  };
  let current = loadHostKey(setting, options.readFile);
  let seen = stamp();
  let checkedAt = now();
  return {
    headers(key, value) {
      const t = now();
      if (t - checkedAt >= recheckMs) {
        checkedAt = t;
        const s = stamp();
        if (s !== seen) {
          seen = s;
          try {
            current = loadHostKey(setting, options.readFile);
          } catch (error) {
            options.onReloadError?.(error);
          }
        }
      }
      return { [HOST_AUTH_HEADER]: hostAuthHeader(current, key, value) };
    },
  };
}
