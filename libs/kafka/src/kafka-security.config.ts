import { readFileSync } from 'node:fs';
import { secretWeakness } from '@metering/observability/logging';
import { KafkaConfigError } from './kafka.errors';

/**
 * TLS and SASL for the brokers. Plain data (PEM text, names, file paths), so a KafkaConfig
 * crosses a worker thread's boundary intact; the OAUTHBEARER token, and a password given as a
 * file, are read from their file on every authentication, so a rotated one is picked up without
 * a restart.
 */
export interface KafkaTlsConfig {
  /** PEM; null: Node's default CAs. */
  ca: string | null;
  /** Client certificate and key (PEM), both or neither. */
  cert: string | null;
  key: string | null;
  /** SNI and name checked in the broker's certificate; null: the broker's host. */
  servername: string | null;
  rejectUnauthorized: boolean;
}

export const SASL_MECHANISMS = ['scram-sha-512', 'scram-sha-256', 'plain', 'oauthbearer'] as const;
export type KafkaSaslMechanism = (typeof SASL_MECHANISMS)[number];

export type KafkaSaslConfig =
  | {
      mechanism: 'scram-sha-512' | 'scram-sha-256' | 'plain';
      username: string;
      /** The password at boot; with passwordFile, the one used when that file is unreadable. */
      password: string;
      /** Read again at every authentication (KAFKA_SASL_PASSWORD_FILE): rotation in place. */
      passwordFile?: string;
    }
  | { mechanism: 'oauthbearer'; tokenFile: string };

export interface KafkaSecurityConfig {
  /** null: plaintext. */
  tls: KafkaTlsConfig | null;
  /** null: no authentication. */
  sasl: KafkaSaslConfig | null;
}

/** Bounds of what a setting file may hold: PEM bundles and tokens are far smaller. */
export const MAX_SETTING_FILE_BYTES = 1_048_576;
const MAX_SECRET_CHARACTERS = 4_096;

const readSettingFile: SettingFileReader = (path) => readFileSync(path);

type Env = Readonly<Record<string, string | undefined>>;
/** Reads a file whole (sync: configuration is loaded once, at boot). */
export type SettingFileReader = (path: string) => Buffer;

/** Checks that do not depend on where the settings came from. */
export function validateKafkaSecurity(security: KafkaSecurityConfig): void {
  const { tls, sasl } = security;
  if (tls !== null && (tls.cert === null) !== (tls.key === null)) {
    throw new KafkaConfigError('tls', 'a client certificate and its key go together');
  }
  if (sasl === null) return;
  switch (sasl.mechanism) {
    case 'plain':
      if (tls === null) {
        throw new KafkaConfigError('sasl.mechanism', 'plain requires TLS (it sends the password)');
      }
      return secretShape('sasl.username', sasl.username, 'sasl.password', sasl.password);
    case 'scram-sha-512':
    case 'scram-sha-256':
      return secretShape('sasl.username', sasl.username, 'sasl.password', sasl.password);
    case 'oauthbearer':
      return;
  }
}

function secretShape(userSetting: string, user: string, passSetting: string, pass: string): void {
  if (user === '' || user.length > 256 || /[\p{Cc}]/u.test(user)) {
    throw new KafkaConfigError(
      userSetting,
      'must be 1 to 256 characters without control characters',
    );
  }
  if (pass === '' || pass.length > MAX_SECRET_CHARACTERS) {
    throw new KafkaConfigError(passSetting, `must be 1 to ${MAX_SECRET_CHARACTERS} characters`);
  }
}

/**
 * Reads KAFKA_TLS, KAFKA_TLS_CA_FILE, KAFKA_TLS_CERT_FILE, KAFKA_TLS_KEY_FILE,
 * KAFKA_TLS_SERVERNAME, KAFKA_TLS_REJECT_UNAUTHORIZED, KAFKA_SASL_MECHANISM,
 * KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD / KAFKA_SASL_PASSWORD_FILE and
 * KAFKA_SASL_OAUTHBEARER_TOKEN_FILE. Every error names the variable; none contains a secret.
 * With NODE_ENV=production the SASL password must also pass secretWeakness.
 */
export function kafkaSecurityFromEnv(
  env: Env,
  readFile: SettingFileReader = readSettingFile,
): KafkaSecurityConfig {
  const tlsOn = flag(env, 'KAFKA_TLS', false);
  const tlsSettings = [
    'KAFKA_TLS_CA_FILE',
    'KAFKA_TLS_CERT_FILE',
    'KAFKA_TLS_KEY_FILE',
    'KAFKA_TLS_SERVERNAME',
    'KAFKA_TLS_REJECT_UNAUTHORIZED',
  ];
  let tls: KafkaTlsConfig | null = null;
  if (tlsOn) {
    const cert = pemFile(env, 'KAFKA_TLS_CERT_FILE', readFile);
    const key = pemFile(env, 'KAFKA_TLS_KEY_FILE', readFile);
    if ((cert === null) !== (key === null)) {
      throw new KafkaConfigError(
        cert === null ? 'KAFKA_TLS_CERT_FILE' : 'KAFKA_TLS_KEY_FILE',
        'required with ' + (cert === null ? 'KAFKA_TLS_KEY_FILE' : 'KAFKA_TLS_CERT_FILE'),
      );
    }
    const servername = set(env, 'KAFKA_TLS_SERVERNAME');
    if (servername !== null && !/^[A-Za-z0-9.-]{1,253}$/.test(servername)) {
      throw new KafkaConfigError('KAFKA_TLS_SERVERNAME', 'must be a host name');
    }
    tls = {
      ca: pemFile(env, 'KAFKA_TLS_CA_FILE', readFile),
      cert,
      key,
      servername,
      rejectUnauthorized: flag(env, 'KAFKA_TLS_REJECT_UNAUTHORIZED', true),
    };
  } else {
    const stray = tlsSettings.find((name) => set(env, name) !== null);
    if (stray !== undefined) throw new KafkaConfigError(stray, 'requires KAFKA_TLS=true');
  }

  const rawMechanism = set(env, 'KAFKA_SASL_MECHANISM');
  const saslSettings = [
    'KAFKA_SASL_USERNAME',
    'KAFKA_SASL_PASSWORD',
    'KAFKA_SASL_PASSWORD_FILE',
    'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE',
  ];
  if (rawMechanism === null) {
    const stray = saslSettings.find((name) => set(env, name) !== null);
    if (stray !== undefined) throw new KafkaConfigError(stray, 'requires KAFKA_SASL_MECHANISM');
    return { tls, sasl: null };
  }
  const mechanism = rawMechanism.toLowerCase().replace(/_/g, '-');
  if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
    throw new KafkaConfigError(
      'KAFKA_SASL_MECHANISM',
      `"${printable(rawMechanism)}" is not one of ${SASL_MECHANISMS.join(', ')}`,
    );
  }
  const known = mechanism as KafkaSaslMechanism;
  switch (known) {
    case 'oauthbearer': {
      for (const name of [
        'KAFKA_SASL_USERNAME',
        'KAFKA_SASL_PASSWORD',
        'KAFKA_SASL_PASSWORD_FILE',
      ]) {
        if (set(env, name) !== null) {
          throw new KafkaConfigError(name, 'not used with KAFKA_SASL_MECHANISM=oauthbearer');
        }
      }
      const tokenFile = set(env, 'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE');
      if (tokenFile === null) {
        throw new KafkaConfigError(
          'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE',
          'required with KAFKA_SASL_MECHANISM=oauthbearer',
        );
      }
      // Read once now so a wrong path stops the boot; re-read at every authentication.
      readSecretFile('KAFKA_SASL_OAUTHBEARER_TOKEN_FILE', tokenFile, readFile);
      return { tls, sasl: { mechanism: known, tokenFile } };
    }
    case 'plain':
    case 'scram-sha-256':
    case 'scram-sha-512': {
      if (known === 'plain' && tls === null) {
        throw new KafkaConfigError('KAFKA_SASL_MECHANISM', 'plain requires KAFKA_TLS=true');
      }
      if (set(env, 'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE') !== null) {
        throw new KafkaConfigError(
          'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE',
          `not used with KAFKA_SASL_MECHANISM=${known}`,
        );
      }
      const username = set(env, 'KAFKA_SASL_USERNAME');
      if (username === null) {
        throw new KafkaConfigError(
          'KAFKA_SASL_USERNAME',
          `required with KAFKA_SASL_MECHANISM=${known}`,
        );
      }
      const password = secret(env, 'KAFKA_SASL_PASSWORD', readFile);
      if (password === null) {
        throw new KafkaConfigError(
          'KAFKA_SASL_PASSWORD',
          `required (or KAFKA_SASL_PASSWORD_FILE) with KAFKA_SASL_MECHANISM=${known}`,
        );
      }
      const sasl: KafkaSaslConfig = {
        mechanism: known,
        username,
        password: password.value,
        ...(password.path === undefined ? {} : { passwordFile: password.path }),
      };
      try {
        validateKafkaSecurity({ tls, sasl });
      } catch (error) {
        if (error instanceof KafkaConfigError) {
          const name = error.setting === 'sasl.username' ? 'KAFKA_SASL_USERNAME' : password.setting;
          throw new KafkaConfigError(name, error.problem);
        }
        throw error;
      }
      if (env.NODE_ENV === 'production') {
        const weakness = secretWeakness(password.value);
        if (weakness !== null) {
          throw new KafkaConfigError(
            password.setting,
            `refused with NODE_ENV=production: ${weakness}`,
          );
        }
      }
      return { tls, sasl };
    }
  }
}

/**
 * A secret from NAME or from the file named by NAME_FILE (trailing newline dropped). Both set is
 * an error: which one would win is a guess an operator should not have to make.
 */
export function secret(
  env: Env,
  name: string,
  readFile: SettingFileReader = readSettingFile,
): { value: string; setting: string; path?: string } | null {
  const fileName = `${name}_FILE`;
  const direct = env[name];
  const path = set(env, fileName);
  if (direct !== undefined && direct !== '' && path !== null) {
    throw new KafkaConfigError(name, `given both as ${name} and ${fileName}; set one`);
  }
  if (path !== null) {
    return { value: readSecretFile(fileName, path, readFile), setting: fileName, path };
  }
  if (direct === undefined || direct === '') return null;
  return { value: direct, setting: name };
}

/**
 * A one-line secret file's content (trailing newline dropped), or null when it is unreadable,
 * empty, too large or holds more than one line: what a client re-reads at each authentication.
 */
export function readSecretLine(
  path: string,
  readFile: SettingFileReader = readSettingFile,
): string | null {
  try {
    return readSecretFile('file', path, readFile);
  } catch {
    return null;
  }
}

function readSecretFile(setting: string, path: string, readFile: SettingFileReader): string {
  const text = readText(setting, path, readFile).replace(/\r?\n$/, '');
  if (text.trim() === '') throw new KafkaConfigError(setting, `${printable(path)} is empty`);
  if (/[\r\n\0]/.test(text)) {
    throw new KafkaConfigError(setting, `${printable(path)} must hold one line`);
  }
  return text;
}

function pemFile(env: Env, setting: string, readFile: SettingFileReader): string | null {
  const path = set(env, setting);
  if (path === null) return null;
  const text = readText(setting, path, readFile);
  if (!text.includes('-----BEGIN ')) {
    throw new KafkaConfigError(setting, `${printable(path)} holds no PEM block`);
  }
  return text;
}

/** A setting file's text, bounded; errors name the setting and the path, never the content. */
export function readSettingText(
  setting: string,
  path: string,
  readFile: SettingFileReader = readSettingFile,
): string {
  return readText(setting, path, readFile);
}

function readText(setting: string, path: string, readFile: SettingFileReader): string {
  if (path.includes('\0')) throw new KafkaConfigError(setting, 'the path contains a NUL byte');
  let bytes: Buffer;
  try {
    bytes = readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new KafkaConfigError(setting, `cannot read ${printable(path)}: ${code}`);
  }
  if (bytes.length === 0) throw new KafkaConfigError(setting, `${printable(path)} is empty`);
  if (bytes.length > MAX_SETTING_FILE_BYTES) {
    throw new KafkaConfigError(
      setting,
      `${printable(path)} is larger than ${MAX_SETTING_FILE_BYTES} bytes`,
    );
  }
  return bytes.toString('utf8');
}

function set(env: Env, name: string): string | null {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? null : raw;
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = set(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new KafkaConfigError(name, `"${printable(raw)}" is not true or false`);
}

/** A value fit to quote in an error: bounded, control characters escaped. */
function printable(value: string): string {
  const short = value.length > 200 ? `${value.slice(0, 200)}…` : value;
  return short.replace(/\p{Cc}/gu, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
