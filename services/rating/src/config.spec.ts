import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadRatingConfig } from './config';

describe('rating configuration', () => {
  test('defaults: InfluxDB v1 on the local database, usage events gzip-compressed', () => {
    const c = loadRatingConfig({});
    assert.deepEqual(c.influx.target, {
      api: 'v1',
      url: 'http://127.0.0.1:8086',
      database: 'metering',
      retentionPolicy: null,
      username: null,
      password: null,
      token: null,
    });
    assert.equal(c.usage.topic, 'billing.usage.v1');
    assert.equal(c.usage.compression, 'gzip');
    assert.equal(c.defaultCurrency, 'EUR');
  });

  test('Kafka: TLS and SASL through libs/kafka, errors naming the variable', () => {
    const c = loadRatingConfig({});
    assert.deepEqual(
      [c.kafka.brokers, c.kafka.clientId, c.kafka.tls, c.kafka.sasl],
      [['127.0.0.1:9092'], 'rating', null, null],
    );
    const secure = loadRatingConfig({
      KAFKA_BROKERS: 'kafka-0:9093, kafka-1:9093',
      KAFKA_TLS: 'true',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'rating',
      KAFKA_SASL_PASSWORD: 'local-rating-password',
    });
    assert.deepEqual(secure.kafka.brokers, ['kafka-0:9093', 'kafka-1:9093']);
    assert.equal(secure.kafka.tls?.rejectUnauthorized, true);
    assert.deepEqual(secure.kafka.sasl, {
      mechanism: 'scram-sha-512',
      username: 'rating',
      password: 'local-rating-password',
    });
    for (const [env, expected] of [
      [{ KAFKA_SASL_MECHANISM: 'plain' }, /KAFKA_SASL_MECHANISM: plain requires KAFKA_TLS=true/],
      [
        {
          KAFKA_SASL_MECHANISM: 'scram-sha-256',
          KAFKA_SASL_USERNAME: 'r',
          KAFKA_SASL_PASSWORD_FILE: '/nonexistent/x',
        },
        /KAFKA_SASL_PASSWORD_FILE: cannot read \/nonexistent\/x: ENOENT/,
      ],
      [
        {
          NODE_ENV: 'production',
          HOST_AUTH: 'off',
          KAFKA_SASL_MECHANISM: 'scram-sha-512',
          KAFKA_SASL_USERNAME: 'r',
          KAFKA_SASL_PASSWORD: 'local-rating-password',
        },
        /KAFKA_SASL_PASSWORD: refused with NODE_ENV=production/,
      ],
    ] as const) {
      assert.throws(
        () => loadRatingConfig(env),
        (e: unknown) =>
          e instanceof ConfigError &&
          expected.test(e.message) &&
          !e.message.includes('local-rating-password'),
      );
    }
  });

  test('NODE_ENV=production: weak InfluxDB passwords and tokens are refused, never echoed', () => {
    const strong = 'Zq8Hn3Kd9Wp2Lm5Xr7Tb4Vc1Fy6Gs0Je';
    for (const [env, name] of [
      [{ INFLUX_USERNAME: 'rating', INFLUX_PASSWORD: 'change-me' }, 'INFLUX_PASSWORD'],
      [{ INFLUX_TOKEN: 'short-token' }, 'INFLUX_TOKEN'],
      [
        { INFLUX_API: 'v2', INFLUX_ORG: 'o', INFLUX_BUCKET: 'b', INFLUX_TOKEN: 'x'.repeat(40) },
        'INFLUX_TOKEN',
      ],
    ] as const) {
      assert.throws(
        () => loadRatingConfig({ NODE_ENV: 'production', HOST_AUTH: 'off', ...env }),
        (e: unknown) =>
          e instanceof ConfigError &&
          e.message.includes(`${name}: refused with NODE_ENV=production`) &&
          !e.message.includes(env[name] ?? 'unset'),
      );
      // Not production: accepted.
      assert.ok(loadRatingConfig(env).influx.target);
    }
    const ok = loadRatingConfig({
      NODE_ENV: 'production',
      HOST_AUTH: 'off',
      INFLUX_USERNAME: 'rating',
      INFLUX_PASSWORD: strong,
    });
    assert.equal(ok.influx.target?.api === 'v1' && ok.influx.target.password, strong);
    // The sink switched off needs no secret at all.
    assert.equal(
      loadRatingConfig({
        NODE_ENV: 'production',
        HOST_AUTH: 'off',
        INFLUX_API: 'off',
        INFLUX_TOKEN: 'x',
      }).influx.target,
      null,
    );
  });

  test('offset decisions are polled every 5 s by default, between 100 ms and 10 minutes', () => {
    assert.equal(loadRatingConfig({}).offsetDecisionPollMs, 5_000);
    assert.equal(loadRatingConfig({ OFFSET_DECISION_POLL_MS: '500' }).offsetDecisionPollMs, 500);
    for (const bad of ['0', '99', '-5', '1.5', 'NaN', 'Infinity', '600001', 'five', '5\u00000']) {
      assert.throws(
        () => loadRatingConfig({ OFFSET_DECISION_POLL_MS: bad }),
        (e: unknown) => e instanceof ConfigError && /OFFSET_DECISION_POLL_MS/.test(e.message),
        bad,
      );
    }
  });

  test('batch window: 5 s by default, capped at one fetch; 0 turns it off; bad values named', () => {
    assert.deepEqual(loadRatingConfig({}).batchWindow, {
      windowMs: 5_000,
      maxBytes: 4_194_304,
      maxMessages: 20_000,
    });
    assert.deepEqual(
      loadRatingConfig({
        RATING_BATCH_WINDOW_MS: '0',
        MAX_BYTES_PER_PARTITION: '65536',
        RATING_BATCH_WINDOW_MAX_MESSAGES: '100',
      }).batchWindow,
      { windowMs: 0, maxBytes: 65_536, maxMessages: 100 },
    );
    assert.equal(
      loadRatingConfig({ RATING_BATCH_WINDOW_MAX_BYTES: '1048576' }).batchWindow.maxBytes,
      1_048_576,
    );
    for (const [name, bad] of [
      ['RATING_BATCH_WINDOW_MS', '-1'],
      ['RATING_BATCH_WINDOW_MS', '600001'],
      ['RATING_BATCH_WINDOW_MAX_BYTES', '0'],
      ['RATING_BATCH_WINDOW_MAX_MESSAGES', 'many'],
    ] as const) {
      assert.throws(
        () => loadRatingConfig({ [name]: bad }),
        (e: unknown) => e instanceof ConfigError && e.message.includes(name),
        `${name}=${bad}`,
      );
    }
  });

  test('fetch response cap: one partition fetch by default, its own value when set', () => {
    assert.equal(loadRatingConfig({}).maxBytesPerFetch, 4_194_304);
    assert.equal(
      loadRatingConfig({ MAX_BYTES_PER_PARTITION: '1048576' }).maxBytesPerFetch,
      1_048_576,
    );
    assert.equal(
      loadRatingConfig({ MAX_BYTES_PER_FETCH: '10485760' }).maxBytesPerFetch,
      10_485_760,
    );
    for (const bad of ['0', '-1', '1.5', 'lots', '\u0000', '1e400']) {
      assert.throws(
        () => loadRatingConfig({ MAX_BYTES_PER_FETCH: bad }),
        (e: unknown) => e instanceof ConfigError && e.message.includes('MAX_BYTES_PER_FETCH'),
        JSON.stringify(bad),
      );
    }
  });

  test('heap growth: 100 % by default, 0 for V8’s own factor, whole percents up to 400', () => {
    assert.equal(loadRatingConfig({}).heapGrowthPercent, 100);
    assert.equal(loadRatingConfig({ RATING_HEAP_GROWTH_PERCENT: '0' }).heapGrowthPercent, 0);
    assert.equal(loadRatingConfig({ RATING_HEAP_GROWTH_PERCENT: '250' }).heapGrowthPercent, 250);
    // Empty is unset, as for every setting.
    assert.equal(loadRatingConfig({ RATING_HEAP_GROWTH_PERCENT: '' }).heapGrowthPercent, 100);
    for (const bad of ['-1', '401', '1.5', 'lots', '\u0000', '1e400', '٣']) {
      assert.throws(
        () => loadRatingConfig({ RATING_HEAP_GROWTH_PERCENT: bad }),
        (e: unknown) =>
          e instanceof ConfigError && e.message.includes('RATING_HEAP_GROWTH_PERCENT'),
        JSON.stringify(bad),
      );
    }
  });

  test('v2 needs org, bucket and token, and says which are missing', () => {
    assert.throws(
      () => loadRatingConfig({ INFLUX_API: 'v2', INFLUX_ORG: 'o' }),
      (e: unknown) =>
        e instanceof ConfigError &&
        /INFLUX_BUCKET, INFLUX_TOKEN: required when INFLUX_API=v2/.test(e.message),
    );
    const c = loadRatingConfig({
      INFLUX_API: 'v2',
      INFLUX_URL: 'https://influx.example:8086/',
      INFLUX_ORG: 'o',
      INFLUX_BUCKET: 'b',
      INFLUX_TOKEN: 't',
    });
    assert.deepEqual(c.influx.target, {
      api: 'v2',
      url: 'https://influx.example:8086',
      org: 'o',
      bucket: 'b',
      token: 't',
    });
  });

  test('off disables the sink; bad values name the setting', () => {
    assert.equal(loadRatingConfig({ INFLUX_API: 'off' }).influx.target, null);
    assert.throws(() => loadRatingConfig({ INFLUX_API: 'v3' }), /INFLUX_API/);
    assert.throws(() => loadRatingConfig({ DEFAULT_CURRENCY: 'euro' }), /DEFAULT_CURRENCY/);
    assert.equal(
      loadRatingConfig({ INFLUX_RESOURCE_GAUGES: 'false' }).influx.resourceGauges,
      false,
    );
  });

  test('usage windows: 5 minutes by default, a divisor of an hour or 0', () => {
    const c = loadRatingConfig({});
    assert.deepEqual(
      [c.usage.windowMs, c.usage.idleMs, c.usage.sweepMs],
      [300_000, 120_000, 5_000],
    );
    assert.equal(loadRatingConfig({ USAGE_WINDOW_SECONDS: '0' }).usage.windowMs, 0);
    assert.equal(loadRatingConfig({ USAGE_WINDOW_SECONDS: '900' }).usage.windowMs, 900_000);
    assert.throws(
      () => loadRatingConfig({ USAGE_WINDOW_SECONDS: '7' }),
      /USAGE_WINDOW_SECONDS: must divide 3600/,
    );
    assert.throws(() => loadRatingConfig({ USAGE_WINDOW_IDLE_SECONDS: '0' }), /USAGE_WINDOW_IDLE/);
    assert.equal(loadRatingConfig({}).pricingIntervalMs, 1_000);
    assert.equal(loadRatingConfig({ RATING_PRICING_INTERVAL_MS: '250' }).pricingIntervalMs, 250);
    assert.throws(() => loadRatingConfig({ RATING_PRICING_INTERVAL_MS: '0' }), /PRICING_INTERVAL/);
    assert.equal(loadRatingConfig({}).pricingBacklogDelayMs, 10_000);
    const delay = (v: string): number =>
      loadRatingConfig({ RATING_PRICING_BACKLOG_DELAY_MS: v }).pricingBacklogDelayMs;
    assert.equal(delay('0'), 0);
    assert.equal(delay('600000'), 600_000);
    assert.equal(delay(''), 10_000, 'empty is unset, as for every setting');
    for (const bad of ['-1', '600001', '1e4', '10s', 'NaN', 'Infinity', '1\u00000', '٣', ' -0'])
      assert.throws(() => delay(bad), /RATING_PRICING_BACKLOG_DELAY_MS/, bad);
  });

  test('dead letters: 900 kB per request and per record by default; bounds checked', () => {
    assert.deepEqual(loadRatingConfig({}).deadLetters, {
      maxRequestBytes: 900_000,
      maxRecordBytes: 900_000,
    });
    assert.deepEqual(
      loadRatingConfig({ DLQ_MAX_REQUEST_BYTES: '500000', DLQ_MAX_RECORD_BYTES: '100000' })
        .deadLetters,
      { maxRequestBytes: 500_000, maxRecordBytes: 100_000 },
    );
    assert.equal(
      loadRatingConfig({ DLQ_MAX_REQUEST_BYTES: '400000' }).deadLetters.maxRecordBytes,
      400_000,
    );
    assert.throws(
      () => loadRatingConfig({ DLQ_MAX_REQUEST_BYTES: '1000' }),
      /DLQ_MAX_REQUEST_BYTES/,
    );
    assert.throws(() => loadRatingConfig({ DLQ_MAX_RECORD_BYTES: 'x' }), /DLQ_MAX_RECORD_BYTES/);
    assert.throws(
      () => loadRatingConfig({ DLQ_MAX_REQUEST_BYTES: '100000', DLQ_MAX_RECORD_BYTES: '200000' }),
      /DLQ_MAX_RECORD_BYTES: must not exceed DLQ_MAX_REQUEST_BYTES/,
    );
  });
});
