import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, createRootLogger, isLogLevel, REDACTED } from './logger.factory';

/** Collects the JSON lines a logger writes. */
function memoryDestination(): { lines: Record<string, unknown>[]; write(line: string): void } {
  const lines: Record<string, unknown>[] = [];
  return {
    lines,
    write(line: string) {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
}

test('createLogger writes JSON with context, service, level name and ISO time', () => {
  const destination = memoryDestination();
  const logger = createLogger('SamplePublisher', { serviceName: 'docker-collector', destination });
  logger.info({ samples: 3 }, 'published');
  const [line] = destination.lines;
  assert.ok(line);
  assert.equal(line.context, 'SamplePublisher');
  assert.equal(line.service, 'docker-collector');
  assert.equal(line.level, 'info');
  assert.equal(line.msg, 'published');
  assert.equal(line.samples, 3);
  assert.match(String(line.time), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
});

test('the level option filters lower levels', () => {
  const destination = memoryDestination();
  const logger = createLogger('X', { level: 'warn', destination });
  logger.info('dropped');
  logger.debug('dropped');
  logger.warn('kept');
  assert.deepEqual(
    destination.lines.map((line) => line.msg),
    ['kept'],
  );
});

test('secrets are redacted at the top level, nested and in headers', () => {
  const destination = memoryDestination();
  const logger = createLogger('Auth', { destination });
  logger.info(
    {
      password: 'p1',
      apiKey: 'k1',
      req: { headers: { authorization: 'Bearer abc', 'x-api-key': 'k2', accept: 'json' } },
      db: { config: { password: 'p2' } },
      tenant: 'acme',
    },
    'login',
  );
  const line = destination.lines[0]!;
  const text = JSON.stringify(line);
  for (const secret of ['p1', 'k1', 'Bearer abc', 'k2', 'p2']) {
    assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  }
  assert.equal(line.password, REDACTED);
  assert.equal(line.tenant, 'acme');
  assert.deepEqual(line.req, {
    headers: { authorization: REDACTED, 'x-api-key': REDACTED, accept: 'json' },
  });
});

test('extra redact paths are honoured', () => {
  const destination = memoryDestination();
  const logger = createLogger('X', { destination, redact: ['dsn'] });
  logger.info({ dsn: 'postgres://u:pw@h/db' }, 'connect');
  assert.equal(destination.lines[0]!.dsn, REDACTED);
});

test('a parent shares its destination and the context is not duplicated', () => {
  const destination = memoryDestination();
  const root = createRootLogger({ serviceName: 'rating', destination });
  createLogger('BatchCommitter', { parent: root }).info('committed');
  const raw: string[] = [];
  createLogger('Other', {
    parent: createRootLogger({ destination: { write: (line: string) => raw.push(line) } }),
  }).info('x');
  assert.equal(destination.lines[0]!.context, 'BatchCommitter');
  assert.equal(destination.lines[0]!.service, 'rating');
  assert.equal(raw[0]!.match(/"context"/g)?.length, 1);
});

test('isLogLevel accepts pino levels only', () => {
  assert.ok(isLogLevel('debug'));
  assert.ok(isLogLevel('silent'));
  assert.ok(!isLogLevel('verbose'));
  assert.ok(!isLogLevel(3));
});
