import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRootLogger } from './logger.factory';
import { PinoNestLogger } from './pino-nest.logger';

function setup(): { lines: Record<string, unknown>[]; logger: PinoNestLogger } {
  const lines: Record<string, unknown>[] = [];
  const root = createRootLogger({
    level: 'trace',
    destination: {
      write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>),
    },
  });
  return { lines, logger: new PinoNestLogger(root) };
}

test('Nest levels map onto pino levels and the last string is the context', () => {
  const { lines, logger } = setup();
  logger.log('Mapped {/metrics, GET} route', 'RouterExplorer');
  logger.warn('slow', 'Scheduler');
  logger.debug('d', 'A');
  logger.verbose('v', 'A');
  logger.fatal('f', 'A');
  assert.deepEqual(
    lines.map((line) => [line.level, line.context, line.msg]),
    [
      ['info', 'RouterExplorer', 'Mapped {/metrics, GET} route'],
      ['warn', 'Scheduler', 'slow'],
      ['debug', 'A', 'd'],
      ['trace', 'A', 'v'],
      ['fatal', 'A', 'f'],
    ],
  );
});

test('error keeps the stack passed as a string and the context', () => {
  const { lines, logger } = setup();
  const stack = new Error('boom').stack!;
  logger.error('boom', stack, 'ExceptionsHandler');
  logger.error('no context', stack);
  assert.equal(lines[0]!.context, 'ExceptionsHandler');
  assert.equal(lines[0]!.stack, stack);
  assert.equal(lines[0]!.level, 'error');
  assert.equal(lines[1]!.context, 'Nest');
  assert.equal(lines[1]!.stack, stack);
});

test('Error messages are serialised under err, objects under data', () => {
  const { lines, logger } = setup();
  logger.error(new Error('db down'), 'Pool');
  logger.log({ port: 8080 }, 'Bootstrap');
  const err = lines[0]!.err as Record<string, unknown>;
  assert.equal(lines[0]!.msg, 'db down');
  assert.equal(err.message, 'db down');
  assert.deepEqual(lines[1]!.data, { port: 8080 });
  assert.equal(lines[1]!.context, 'Bootstrap');
});

test('setLogLevels takes the most verbose level listed', () => {
  const { lines, logger } = setup();
  logger.setLogLevels(['error', 'warn']);
  logger.log('dropped', 'A');
  logger.warn('kept', 'A');
  logger.setLogLevels([]);
  logger.error('dropped too', 'A');
  assert.deepEqual(
    lines.map((line) => line.msg),
    ['kept'],
  );
});
