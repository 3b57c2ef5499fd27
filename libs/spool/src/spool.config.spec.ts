import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveSpoolSettings, SPOOL_DEFAULTS, spoolSettingsFromEnv } from './spool.config';
import { SpoolConfigError } from './spool.errors';

test('defaults apply to what is not given', () => {
  assert.deepEqual(resolveSpoolSettings(), SPOOL_DEFAULTS);
  assert.equal(resolveSpoolSettings({ lingerMs: 10, maxBytes: undefined }).lingerMs, 10);
});

test('settings out of range name the setting', () => {
  assert.throws(
    () => resolveSpoolSettings({ maxBytes: 10 }),
    /maxBytes: must be a whole number ≥ 4096/,
  );
  assert.throws(
    () => resolveSpoolSettings({ backoffInitialMs: 500, backoffMaxMs: 100 }),
    /backoffMaxMs/,
  );
  assert.throws(
    () => resolveSpoolSettings({ fsync: 'sometimes' as never }),
    /fsync: "sometimes" is not batch\|interval\|never/,
  );
});

test('the environment gives the directory and settings; sizes take KiB/MiB/GiB', () => {
  const { dir, settings } = spoolSettingsFromEnv({
    SPOOL_DIR: '/var/lib/metering/spool',
    SPOOL_MAX_BYTES: '1GiB',
    SPOOL_SEGMENT_BYTES: '4MiB',
    SPOOL_FSYNC: 'interval',
    SPOOL_LINGER_MS: '20',
  });
  assert.equal(dir, '/var/lib/metering/spool');
  assert.equal(settings.maxBytes, 1024 ** 3);
  assert.equal(settings.segmentBytes, 4 * 1024 ** 2);
  assert.equal(settings.fsync, 'interval');
  assert.equal(settings.lingerMs, 20);
  assert.equal(settings.maxBatchRecords, SPOOL_DEFAULTS.maxBatchRecords);
});

test('environment errors name the variable an operator sets', () => {
  assert.throws(() => spoolSettingsFromEnv({}), /SPOOL_DIR: required/);
  assert.throws(
    () => spoolSettingsFromEnv({ SPOOL_DIR: '/s', SPOOL_LINGER_MS: '5MiB' }),
    /SPOOL_LINGER_MS: "5MiB" is not a whole number/,
  );
  assert.throws(
    () => spoolSettingsFromEnv({ SPOOL_DIR: '/s', SPOOL_MAX_BYTES: '1KiB' }),
    (error: unknown) => error instanceof SpoolConfigError && error.setting === 'SPOOL_MAX_BYTES',
  );
});
