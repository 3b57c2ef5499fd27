import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { kafkaConfigFromEnv, resolveKafkaConfig } from './kafka.config';
import { kafkaSecurityFromEnv, MAX_SETTING_FILE_BYTES } from './kafka-security.config';
import { kafkajsSecurity } from './kafkajs-client';
import { KafkaConfigError } from './kafka.errors';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';
const STRONG = 'q7R2vK9xLm4Tz8Wp1Yc6Hn3Jb5Fd0Gs-Ua';

function files(contents: Record<string, string | Buffer>): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-security-'));
  return Object.fromEntries(
    Object.entries(contents).map(([name, body]) => {
      const path = join(dir, name);
      writeFileSync(path, body);
      return [name, path];
    }),
  );
}

const f = files({
  ca: PEM,
  cert: PEM,
  key: KEY,
  password: `${STRONG}\n`,
  weak: 'PLACEHOLDER-replace-me-kafka-password\n',
  empty: '',
  blank: '\n',
  twoLines: 'a\nb\n',
  notPem: 'hello',
  token: 'eyJhbGciOi.token.sig\n',
  huge: Buffer.alloc(MAX_SETTING_FILE_BYTES + 1, 0x41),
});
const missing = join(tmpdir(), 'kafka-security-does-not-exist', 'x');

/** The message of the KafkaConfigError `run` throws (fails the test if it does not). */
function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof KafkaConfigError, String(error));
    return error.message;
  }
  assert.fail('accepted');
}

test('without security settings the client is plaintext and anonymous', () => {
  assert.deepEqual(kafkaSecurityFromEnv({}), { tls: null, sasl: null });
  assert.deepEqual(kafkajsSecurity(null, null), {});
});

test('TLS on: CA, client certificate and key read from their files; verification on by default', () => {
  const security = kafkaSecurityFromEnv({
    KAFKA_TLS: 'true',
    KAFKA_TLS_CA_FILE: f.ca,
    KAFKA_TLS_CERT_FILE: f.cert,
    KAFKA_TLS_KEY_FILE: f.key,
    KAFKA_TLS_SERVERNAME: 'kafka.metering.svc',
  });
  assert.deepEqual(security.tls, {
    ca: PEM,
    cert: PEM,
    key: KEY,
    servername: 'kafka.metering.svc',
    rejectUnauthorized: true,
  });
  assert.deepEqual(kafkajsSecurity(security.tls, null).ssl, {
    ca: [PEM],
    cert: PEM,
    key: KEY,
    servername: 'kafka.metering.svc',
    rejectUnauthorized: true,
  });
  // TLS alone, Node's CAs; verification can be turned off only explicitly.
  const bare = kafkaSecurityFromEnv({ KAFKA_TLS: '1', KAFKA_TLS_REJECT_UNAUTHORIZED: 'FALSE' });
  assert.deepEqual(bare.tls, {
    ca: null,
    cert: null,
    key: null,
    servername: null,
    rejectUnauthorized: false,
  });
  assert.deepEqual(kafkajsSecurity(bare.tls, null).ssl, { rejectUnauthorized: false });
});

test('TLS settings are refused with a message naming the setting', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ KAFKA_TLS: 'yes' }, /^KAFKA_TLS: "yes" is not true or false$/],
    [{ KAFKA_TLS_CA_FILE: f.ca! }, /^KAFKA_TLS_CA_FILE: requires KAFKA_TLS=true$/],
    [
      { KAFKA_TLS: 'false', KAFKA_TLS_SERVERNAME: 'k' },
      /^KAFKA_TLS_SERVERNAME: requires KAFKA_TLS/,
    ],
    [
      { KAFKA_TLS: 'true', KAFKA_TLS_CA_FILE: missing },
      /^KAFKA_TLS_CA_FILE: cannot read .*: ENOENT$/,
    ],
    [
      { KAFKA_TLS: 'true', KAFKA_TLS_CA_FILE: tmpdir() },
      /^KAFKA_TLS_CA_FILE: cannot read .*: EISDIR$/,
    ],
    [{ KAFKA_TLS: 'true', KAFKA_TLS_CA_FILE: f.empty! }, /^KAFKA_TLS_CA_FILE: .* is empty$/],
    [{ KAFKA_TLS: 'true', KAFKA_TLS_CA_FILE: f.notPem! }, /^KAFKA_TLS_CA_FILE: .* holds no PEM/],
    [
      { KAFKA_TLS: 'true', KAFKA_TLS_CA_FILE: f.huge! },
      /^KAFKA_TLS_CA_FILE: .* larger than 1048576/,
    ],
    [
      { KAFKA_TLS: 'true', KAFKA_TLS_CA_FILE: 'a\0b' },
      /^KAFKA_TLS_CA_FILE: the path contains a NUL/,
    ],
    [
      { KAFKA_TLS: 'true', KAFKA_TLS_CERT_FILE: f.cert! },
      /^KAFKA_TLS_KEY_FILE: required with KAFKA_TLS_CERT_FILE$/,
    ],
    [
      { KAFKA_TLS: 'true', KAFKA_TLS_KEY_FILE: f.key! },
      /^KAFKA_TLS_CERT_FILE: required with KAFKA_TLS_KEY_FILE$/,
    ],
    [
      { KAFKA_TLS: 'true', KAFKA_TLS_SERVERNAME: 'a b' },
      /^KAFKA_TLS_SERVERNAME: must be a host name$/,
    ],
    [{ KAFKA_TLS: 'true', KAFKA_TLS_SERVERNAME: 'k'.repeat(300) }, /^KAFKA_TLS_SERVERNAME/],
    [
      { KAFKA_TLS: 'true', KAFKA_TLS_REJECT_UNAUTHORIZED: 'no' },
      /^KAFKA_TLS_REJECT_UNAUTHORIZED: /,
    ],
  ];
  for (const [env, expected] of cases)
    assert.match(
      refusal(() => kafkaSecurityFromEnv(env)),
      expected,
    );
});

test('an unreadable file is named with its error code, whatever the reader says', () => {
  const denied = (): Buffer => {
    throw Object.assign(new Error('denied'), { code: 'EACCES' });
  };
  assert.equal(
    refusal(() => kafkaSecurityFromEnv({ KAFKA_TLS: 'true', KAFKA_TLS_CA_FILE: '/x' }, denied)),
    'KAFKA_TLS_CA_FILE: cannot read /x: EACCES',
  );
  assert.equal(
    refusal(() =>
      kafkaSecurityFromEnv(
        {
          KAFKA_SASL_MECHANISM: 'scram-sha-512',
          KAFKA_SASL_USERNAME: 'u',
          KAFKA_SASL_PASSWORD_FILE: '/x',
        },
        denied,
      ),
    ),
    'KAFKA_SASL_PASSWORD_FILE: cannot read /x: EACCES',
  );
});

test('SCRAM mechanisms in any case and spelling; the password from env or from its file', () => {
  for (const [raw, mechanism] of [
    ['SCRAM-SHA-512', 'scram-sha-512'],
    ['scram_sha_256', 'scram-sha-256'],
    ['Scram-Sha-512', 'scram-sha-512'],
  ] as const) {
    const fromEnv = kafkaSecurityFromEnv({
      KAFKA_SASL_MECHANISM: raw,
      KAFKA_SASL_USERNAME: 'rating',
      KAFKA_SASL_PASSWORD: STRONG,
    });
    assert.deepEqual(fromEnv.sasl, { mechanism, username: 'rating', password: STRONG });
    const fromFile = kafkaSecurityFromEnv({
      KAFKA_SASL_MECHANISM: raw,
      KAFKA_SASL_USERNAME: 'rating',
      KAFKA_SASL_PASSWORD_FILE: f.password,
    });
    // The file's trailing newline is not part of the password; the file is kept for re-reads.
    assert.deepEqual(fromFile.sasl, { ...fromEnv.sasl, passwordFile: f.password });
    assert.deepEqual({ ...kafkajsSecurity(null, fromFile.sasl).sasl }, fromEnv.sasl);
    assert.deepEqual(kafkajsSecurity(null, fromEnv.sasl).sasl, fromEnv.sasl);
  }
});

test('SASL settings are refused with a message naming the setting', () => {
  const scram = { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u' };
  const cases: [Record<string, string>, RegExp][] = [
    [{ KAFKA_SASL_MECHANISM: 'gssapi' }, /^KAFKA_SASL_MECHANISM: "gssapi" is not one of/],
    [{ KAFKA_SASL_MECHANISM: 'x\0y' }, /^KAFKA_SASL_MECHANISM: "x\\x00y" is not one of/],
    [
      { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: STRONG },
      /^KAFKA_SASL_MECHANISM: plain requires KAFKA_TLS=true$/,
    ],
    [{ KAFKA_SASL_USERNAME: 'u' }, /^KAFKA_SASL_USERNAME: requires KAFKA_SASL_MECHANISM$/],
    [{ KAFKA_SASL_PASSWORD: STRONG }, /^KAFKA_SASL_PASSWORD: requires KAFKA_SASL_MECHANISM$/],
    [
      { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_PASSWORD: STRONG },
      /^KAFKA_SASL_USERNAME: required/,
    ],
    [scram, /^KAFKA_SASL_PASSWORD: required \(or KAFKA_SASL_PASSWORD_FILE\)/],
    [
      { ...scram, KAFKA_SASL_PASSWORD: STRONG, KAFKA_SASL_PASSWORD_FILE: f.password! },
      /^KAFKA_SASL_PASSWORD: given both as KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE; set one$/,
    ],
    [
      { ...scram, KAFKA_SASL_PASSWORD_FILE: missing },
      /^KAFKA_SASL_PASSWORD_FILE: cannot read .*: ENOENT$/,
    ],
    [{ ...scram, KAFKA_SASL_PASSWORD_FILE: f.empty! }, /^KAFKA_SASL_PASSWORD_FILE: .* is empty$/],
    [{ ...scram, KAFKA_SASL_PASSWORD_FILE: f.blank! }, /^KAFKA_SASL_PASSWORD_FILE: .* is empty$/],
    [
      { ...scram, KAFKA_SASL_PASSWORD_FILE: f.twoLines! },
      /^KAFKA_SASL_PASSWORD_FILE: .* must hold one line$/,
    ],
    [{ ...scram, KAFKA_SASL_PASSWORD_FILE: f.huge! }, /^KAFKA_SASL_PASSWORD_FILE: .* larger than/],
    [
      { ...scram, KAFKA_SASL_PASSWORD_FILE: `${f.password!}\0` },
      /^KAFKA_SASL_PASSWORD_FILE: the path contains a NUL/,
    ],
    [
      { ...scram, KAFKA_SASL_PASSWORD: 'p'.repeat(5_000) },
      /^KAFKA_SASL_PASSWORD: must be 1 to 4096/,
    ],
    [
      { ...scram, KAFKA_SASL_USERNAME: 'u\nx', KAFKA_SASL_PASSWORD: STRONG },
      /^KAFKA_SASL_USERNAME: must be 1 to 256/,
    ],
    [
      { ...scram, KAFKA_SASL_PASSWORD: STRONG, KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: f.token! },
      /^KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: not used with/,
    ],
    [{ KAFKA_SASL_MECHANISM: 'oauthbearer' }, /^KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: required/],
    [
      { KAFKA_SASL_MECHANISM: 'OAUTHBEARER', KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: missing },
      /^KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: cannot read .*: ENOENT$/,
    ],
    [
      {
        KAFKA_SASL_MECHANISM: 'oauthbearer',
        KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: f.token!,
        KAFKA_SASL_PASSWORD: 'p',
      },
      /^KAFKA_SASL_PASSWORD: not used with KAFKA_SASL_MECHANISM=oauthbearer$/,
    ],
  ];
  for (const [env, expected] of cases)
    assert.match(
      refusal(() => kafkaSecurityFromEnv(env)),
      expected,
    );
});

test('PLAIN is accepted over TLS', () => {
  const security = kafkaSecurityFromEnv({
    KAFKA_TLS: 'true',
    KAFKA_SASL_MECHANISM: 'PLAIN',
    KAFKA_SASL_USERNAME: 'u',
    KAFKA_SASL_PASSWORD: STRONG,
  });
  assert.deepEqual(security.sasl, { mechanism: 'plain', username: 'u', password: STRONG });
  // The same rule holds for a config built in code.
  assert.match(
    refusal(() => resolveKafkaConfig({ brokers: ['k:1'], clientId: 'c', sasl: security.sasl })),
    /^sasl.mechanism: plain requires TLS/,
  );
});

test('with NODE_ENV=production a weak SASL password is refused, never echoed', () => {
  const base = {
    NODE_ENV: 'production',
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'u',
  };
  for (const [env, setting] of [
    [{ ...base, KAFKA_SASL_PASSWORD: 'change-me' }, 'KAFKA_SASL_PASSWORD'],
    [{ ...base, KAFKA_SASL_PASSWORD: 'hunter2hunter2' }, 'KAFKA_SASL_PASSWORD'],
    [{ ...base, KAFKA_SASL_PASSWORD_FILE: f.weak! }, 'KAFKA_SASL_PASSWORD_FILE'],
  ] as const) {
    const message = refusal(() => kafkaSecurityFromEnv(env));
    assert.match(message, new RegExp(`^${setting}: refused with NODE_ENV=production: `));
    for (const secretValue of ['change-me', 'hunter2', 'PLACEHOLDER-replace-me-kafka-password']) {
      assert.ok(!message.includes(secretValue), message);
    }
  }
  assert.equal(
    kafkaSecurityFromEnv({ ...base, KAFKA_SASL_PASSWORD_FILE: f.password }).sasl?.mechanism,
    'scram-sha-512',
  );
  // Outside production the local stack's short passwords are fine.
  assert.ok(
    kafkaSecurityFromEnv({ ...base, NODE_ENV: 'development', KAFKA_SASL_PASSWORD: 'change-me' })
      .sasl,
  );
});

test('OAUTHBEARER: the token is read from its file at every authentication', async () => {
  const tokens = files({ token: 'first\n' });
  const security = kafkaSecurityFromEnv({
    KAFKA_SASL_MECHANISM: 'oauthbearer',
    KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: tokens.token,
  });
  assert.deepEqual(security.sasl, { mechanism: 'oauthbearer', tokenFile: tokens.token });
  const sasl = kafkajsSecurity(null, security.sasl).sasl;
  assert.ok(sasl !== undefined && 'oauthBearerProvider' in sasl);
  assert.deepEqual(await sasl.oauthBearerProvider(), { value: 'first' });
  writeFileSync(tokens.token!, 'second');
  assert.deepEqual(await sasl.oauthBearerProvider(), { value: 'second' });
});

test('SCRAM password file: read again at every authentication; an unusable file keeps the last good one', () => {
  const secrets = files({ password: `${STRONG}\n` });
  const security = kafkaSecurityFromEnv({
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'host.a',
    KAFKA_SASL_PASSWORD_FILE: secrets.password,
  });
  const sasl = kafkajsSecurity(null, security.sasl).sasl;
  assert.ok(sasl !== undefined && 'password' in sasl);
  assert.equal(sasl.password, STRONG);
  const rotated = 'Zr8Kq2Lw5Xn7Vb3Mt9Hc4Jd6Fg1Sp0Ya-Ue';
  writeFileSync(secrets.password!, `${rotated}\r\n`);
  assert.equal(sasl.password, rotated);
  // Each of these is refused at boot; met later, the last good password stays in use.
  for (const bad of ['', '\n', 'a\nb\n', Buffer.alloc(MAX_SETTING_FILE_BYTES + 1, 0x41)]) {
    writeFileSync(secrets.password!, bad);
    assert.equal(sasl.password, rotated);
  }
  writeFileSync(secrets.password!, 'ünïcødé-pässwörd\n');
  assert.equal(sasl.password, 'ünïcødé-pässwörd');
  rmSync(secrets.password!);
  assert.equal(sasl.password, 'ünïcødé-pässwörd');
});

test('kafkaConfigFromEnv carries the security settings; a KafkaConfig survives a structured clone', () => {
  const config = kafkaConfigFromEnv(
    {
      KAFKA_BROKERS: 'k:9093',
      KAFKA_TLS: 'true',
      KAFKA_TLS_CA_FILE: f.ca,
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'rating',
      KAFKA_SASL_PASSWORD_FILE: f.password,
    },
    { clientId: 'rating' },
  );
  assert.equal(config.tls?.ca, PEM);
  assert.deepEqual(config.sasl, {
    mechanism: 'scram-sha-512',
    username: 'rating',
    password: STRONG,
    passwordFile: f.password,
  });
  // What a worker thread receives (workerData) is a structured clone: the file path crosses it.
  assert.deepEqual(structuredClone(config), config);
  assert.match(
    refusal(() =>
      kafkaConfigFromEnv({ KAFKA_BROKERS: 'k:1', KAFKA_SASL_MECHANISM: 'x' }, { clientId: 'c' }),
    ),
    /^KAFKA_SASL_MECHANISM/,
  );
});
