import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logLevel } from 'kafkajs';
import { createRootLogger, type LogLevel } from '@metering/observability';
import { kafkajsLogCreator, kafkajsLogLevel } from './kafkajs-log.adapter';

function capture(level: LogLevel = 'debug') {
  const lines: Record<string, unknown>[] = [];
  const logger = createRootLogger({
    level,
    destination: {
      write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>),
    },
  });
  return { lines, logger };
}

test('kafkajs entries become pino lines with the matching level', () => {
  const { lines, logger } = capture();
  const log = kafkajsLogCreator(logger)(logLevel.DEBUG);
  const entry = (level: logLevel, message: string) => ({
    namespace: 'Consumer',
    level,
    label: 'x',
    log: { timestamp: '2026-11-26T13:00:00.000Z', logger: 'kafkajs', message, groupId: 'g' },
  });
  log(entry(logLevel.ERROR, 'Crash'));
  log(entry(logLevel.WARN, 'rebalancing'));
  log(entry(logLevel.INFO, 'joined'));
  log(entry(logLevel.DEBUG, 'fetch'));
  assert.deepEqual(
    lines.map((line) => [line.level, line.msg]),
    [
      ['error', 'Crash'],
      ['warn', 'rebalancing'],
      ['info', 'joined'],
      ['debug', 'fetch'],
    ],
  );
  const first = lines[0]!;
  assert.equal(first.context, 'kafkajs');
  assert.equal(first.namespace, 'Consumer');
  assert.equal(first.groupId, 'g');
  assert.equal(first.logger, undefined, "kafkajs's logger name is dropped");
  assert.notEqual(first.time, '2026-11-26T13:00:00.000Z', 'pino stamps the time');
});

test('the kafkajs level follows the pino level', () => {
  const table: [LogLevel, logLevel][] = [
    ['silent', logLevel.NOTHING],
    ['fatal', logLevel.ERROR],
    ['error', logLevel.ERROR],
    ['warn', logLevel.WARN],
    ['info', logLevel.INFO],
    ['debug', logLevel.DEBUG],
    ['trace', logLevel.DEBUG],
  ];
  for (const [pinoLevel, expected] of table) {
    assert.equal(kafkajsLogLevel(capture(pinoLevel).logger), expected, pinoLevel);
  }
});

test('a SASL password in a kafkajs entry or in a logged KafkaConfig is redacted', () => {
  const { lines, logger } = capture();
  const password = 'Zq8-adapter-password-7Hn3Kd9Wp2Lm5';
  const log = kafkajsLogCreator(logger)(logLevel.DEBUG);
  log({
    namespace: 'Connection',
    level: logLevel.ERROR,
    label: 'ERROR',
    log: {
      timestamp: '2026-12-03T11:00:00.000Z',
      logger: 'kafkajs',
      message: 'SASL SCRAM-SHA-512 authentication failed',
      sasl: { mechanism: 'scram-sha-512', username: 'rating', password },
    },
  });
  // What a careless `logger.info({ kafka: config })` would write.
  logger.info({ kafka: { sasl: { mechanism: 'scram-sha-512', username: 'rating', password } } });
  assert.equal(lines.length, 2);
  const text = JSON.stringify(lines);
  assert.ok(!text.includes(password), text);
  assert.equal((lines[0]!.sasl as Record<string, unknown>).username, 'rating');
});
