import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KafkaJSConnectionError, KafkaJSNonRetriableError } from 'kafkajs';
import { isInfrastructureError } from './batch-error.classifier';

function pgError(code: string, message = 'pg'): Error {
  return Object.assign(new Error(message), { name: 'error', code });
}

/** TypeORM's QueryFailedError keeps the driver's error in driverError. */
function queryFailed(code: string): Error {
  return Object.assign(new Error('query failed'), {
    name: 'QueryFailedError',
    driverError: pgError(code),
  });
}

test('infrastructure: connection, concurrency, resources, Kafka, sockets, retriable errors', () => {
  const cases: [string, unknown][] = [
    ['connection failure 08006', pgError('08006')],
    ['serialization failure 40001', pgError('40001')],
    ['deadlock 40P01 inside TypeORM', queryFailed('40P01')],
    ['too many connections 53300', pgError('53300')],
    ['lock not available 55P03', pgError('55P03')],
    ['admin shutdown 57P01', pgError('57P01')],
    ['statement timeout 57014', pgError('57014')],
    ['in failed transaction 25P02', pgError('25P02')],
    ['internal error XX000', pgError('XX000')],
    ['Kafka connection', new KafkaJSConnectionError('broker down')],
    ['Kafka non-retriable', new KafkaJSNonRetriableError('refused')],
    ['refused socket', Object.assign(new Error('connect'), { code: 'ECONNREFUSED' })],
    ['broken pipe', Object.assign(new Error('write'), { code: 'EPIPE' })],
    ['pg connection lost', new Error('Connection terminated unexpectedly')],
    ['pool timeout', new Error('timeout exceeded when trying to connect')],
    ['retriable flag', Object.assign(new Error('position moved'), { retriable: true })],
    ['aborted', Object.assign(new Error('rebalancing'), { name: 'AbortError' })],
    ['cause', new Error('wrapped', { cause: pgError('08001') })],
    ['all of an aggregate', new AggregateError([pgError('08006'), pgError('57P01')])],
  ];
  for (const [name, error] of cases) assert.equal(isInfrastructureError(error), true, name);
});

test('possibly the data: data exceptions, limits, programming errors, the unknown', () => {
  const cases: [string, unknown][] = [
    ['NUL byte 22021', pgError('22021')],
    ['numeric out of range 22003', queryFailed('22003')],
    ['index row too large 54000', pgError('54000')],
    ['unique violation 23505', pgError('23505')],
    ['TypeError', new TypeError('cannot read properties of undefined')],
    ['RangeError', new RangeError('invalid BigInt')],
    ['a plain Error', new Error('something')],
    ['retriable: false', Object.assign(new Error('no'), { retriable: false })],
    ['a string', 'boom'],
    ['undefined', undefined],
    ['part of an aggregate', new AggregateError([pgError('08006'), new TypeError('x')])],
    ['an empty aggregate', new AggregateError([])],
  ];
  for (const [name, error] of cases) assert.equal(isInfrastructureError(error), false, name);
});

test('a cycle of causes ends', () => {
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  (a as { cause?: unknown }).cause = b;
  assert.equal(isInfrastructureError(a), false);
});
