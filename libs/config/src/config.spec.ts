import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import {
  boolean,
  CONFIG_EXIT_CODE,
  ConfigError,
  DATABASE_SETTINGS,
  databaseConfig,
  durationMs,
  fromLib,
  integer,
  list,
  parseEnv,
  presentEnv,
} from './index';

class LibError extends Error {
  constructor(
    readonly setting: string,
    readonly problem: string,
  ) {
    super(`${setting}: ${problem}`);
  }
}

describe('ConfigError', () => {
  test('names the setting; the service prefix is optional; further problems follow', () => {
    const plain = new ConfigError('PORT', 'must be a whole number');
    assert.equal(plain.message, 'PORT: must be a whole number');
    assert.equal(plain.code, 'CONFIG_INVALID');
    assert.equal(plain.setting, 'PORT');
    const prefixed = new ConfigError('PORT', 'too big', {
      service: 'rating',
      more: [{ setting: 'LOG_LEVEL', problem: 'unknown' }],
    });
    assert.equal(
      prefixed.message,
      'invalid rating configuration: PORT: too big; LOG_LEVEL: unknown',
    );
    assert.equal(prefixed.detail, 'PORT: too big; LOG_LEVEL: unknown');
    assert.equal(prefixed.problems.length, 2);
    assert.equal(CONFIG_EXIT_CODE, 2);
  });
});

describe('parsers', () => {
  const read = <T>(schema: z.ZodType<T>, value: string) => schema.safeParse(value);

  test('integer: digits only, within bounds', () => {
    assert.equal(read(integer(0, 100), ' 42 ').data, 42);
    for (const bad of [
      '1e1',
      '+5',
      '0x10',
      '1.5',
      'NaN',
      'Infinity',
      '-1',
      '101',
      '',
      '5\u00000',
    ]) {
      assert.equal(read(integer(0, 100), bad).success, false, bad);
    }
  });

  test('durationMs: whole milliseconds, the unit named when refused', () => {
    assert.equal(read(durationMs(100), '1000').data, 1000);
    const refused = read(durationMs(100), '10s');
    assert.match(refused.error?.issues[0]?.message ?? '', /milliseconds/);
    assert.equal(read(durationMs(100), '99').success, false);
  });

  test('boolean: true/false, 1/0, yes/no, on/off in any case; nothing else', () => {
    for (const yes of ['true', 'TRUE', '1', 'yes', 'On'])
      assert.equal(read(boolean(), yes).data, true);
    for (const no of ['false', '0', 'No', 'off']) assert.equal(read(boolean(), no).data, false);
    assert.equal(read(boolean(), 'maybe').success, false);
  });

  test('list: trimmed, without empty items', () => {
    assert.deepEqual(list(' a, b ,,c '), ['a', 'b', 'c']);
  });
});

describe('reading the environment', () => {
  const Schema = z.object({
    PORT: integer(0, 65_535).default(80),
    DEBUG: boolean().default(false),
  });

  test('blank values count as unset', () => {
    assert.deepEqual(presentEnv({ A: '', B: ' ', C: 'x', D: undefined }), { C: 'x' });
    assert.deepEqual(parseEnv(Schema, presentEnv({ PORT: ' ' })), { PORT: 80, DEBUG: false });
  });

  test('every invalid setting is named, the first as `setting`', () => {
    assert.throws(
      () => parseEnv(Schema, { PORT: 'eighty', DEBUG: 'maybe' }, { service: 'demo' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.setting === 'PORT' &&
        /^invalid demo configuration: PORT: must be a whole number; DEBUG: /.test(error.message),
    );
  });

  test("a library's configuration error becomes a ConfigError naming the same setting", () => {
    assert.throws(
      () =>
        fromLib(() => {
          throw new LibError('KAFKA_BROKERS', 'required');
        }, [LibError]),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.setting === 'KAFKA_BROKERS' &&
        error.message === 'KAFKA_BROKERS: required',
    );
    assert.throws(
      () =>
        fromLib(() => {
          throw new RangeError('other');
        }, [LibError]),
      RangeError,
    );
    assert.equal(
      fromLib(() => 7, [LibError]),
      7,
    );
  });

  test('the database settings: defaults, and the migration URL null when unset', () => {
    const e = parseEnv(z.object(DATABASE_SETTINGS), {});
    assert.deepEqual(databaseConfig(e), {
      url: 'postgres://postgres@127.0.0.1:5432/metering',
      migrationUrl: null,
      schema: 'public',
      poolSize: 10,
    });
    assert.throws(
      () => parseEnv(z.object(DATABASE_SETTINGS), { DATABASE_SCHEMA: 'Bad-Name' }),
      /DATABASE_SCHEMA/,
    );
  });
});
