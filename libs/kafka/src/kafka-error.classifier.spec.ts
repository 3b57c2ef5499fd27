import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  KafkaJSAggregateError,
  KafkaJSConnectionError,
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
  KafkaJSServerDoesNotSupportApiKey,
} from 'kafkajs';
import { isRebalancing, isRetriable } from './kafka-error.classifier';
import { ConsumerStateError, MessageDecodingError, ProducerClosedError } from './kafka.errors';

/** A broker error as kafkajs builds it from an error code. */
function protocolError(type: string, retriable: boolean): KafkaJSProtocolError {
  return new KafkaJSProtocolError(Object.assign(new Error(type), { type, retriable }));
}

function systemError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code });
}

function jsonSyntaxError(): unknown {
  try {
    JSON.parse('{"schema":');
  } catch (error) {
    return error;
  }
  throw new Error('JSON.parse accepted a truncated document');
}

const cases: { name: string; error: unknown; retriable: boolean }[] = [
  {
    name: 'retries exhausted on a transient cause',
    error: new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('down'), {
      retryCount: 5,
      retryTime: 1000,
    }),
    retriable: true,
  },
  { name: 'connection error', error: new KafkaJSConnectionError('ECONNREFUSED'), retriable: true },
  { name: 'request timeout', error: new KafkaJSRequestTimeoutError('timeout'), retriable: true },
  { name: 'plain KafkaJSError', error: new KafkaJSError('leader moved'), retriable: true },
  {
    name: 'broker error flagged retriable (LEADER_NOT_AVAILABLE)',
    error: protocolError('LEADER_NOT_AVAILABLE', true),
    retriable: true,
  },
  {
    name: 'broker error flagged fatal (MESSAGE_TOO_LARGE)',
    error: protocolError('MESSAGE_TOO_LARGE', false),
    retriable: false,
  },
  { name: 'KafkaJSNonRetriableError', error: new KafkaJSNonRetriableError('no'), retriable: false },
  {
    name: 'a KafkaJSNonRetriableError subclass',
    error: new KafkaJSServerDoesNotSupportApiKey('no such API', { apiKey: 99, apiName: 'X' }),
    retriable: false,
  },
  {
    name: 'aggregate of retriable errors',
    error: new KafkaJSAggregateError('several', [new KafkaJSConnectionError('a')]),
    retriable: true,
  },
  {
    name: 'aggregate with one fatal error',
    error: new AggregateError([new KafkaJSConnectionError('a'), new TypeError('b')]),
    retriable: false,
  },
  { name: 'empty aggregate', error: new AggregateError([]), retriable: false },
  {
    name: 'schema error',
    error: new MessageDecodingError('cpu.usageNs: not a decimal'),
    retriable: false,
  },
  { name: 'JSON syntax error', error: jsonSyntaxError(), retriable: false },
  {
    name: 'short buffer (RangeError)',
    error: (() => {
      try {
        Buffer.alloc(2).readUInt32BE(0);
      } catch (error) {
        return error;
      }
      return undefined;
    })(),
    retriable: false,
  },
  {
    name: 'programming error (TypeError)',
    error: new TypeError('x is undefined'),
    retriable: false,
  },
  { name: 'database unreachable', error: systemError('ECONNREFUSED'), retriable: true },
  { name: 'connection reset', error: systemError('ECONNRESET'), retriable: true },
  {
    name: 'library error declaring itself fatal',
    error: new ProducerClosedError(),
    retriable: false,
  },
  {
    name: 'foreign error declaring itself retriable',
    error: Object.assign(new TypeError('lock timeout'), { retriable: true }),
    retriable: true,
  },
  { name: 'unknown Error', error: new Error('deadlock detected'), retriable: true },
  { name: 'a thrown string', error: 'boom', retriable: false },
  { name: 'undefined', error: undefined, retriable: false },
];

for (const { name, error, retriable } of cases) {
  test(`isRetriable: ${name} → ${retriable ? 'retriable' : 'fatal'}`, () => {
    assert.equal(isRetriable(error), retriable);
  });
}

test('isRebalancing recognises group membership errors only', () => {
  assert.ok(isRebalancing(protocolError('REBALANCE_IN_PROGRESS', false)));
  assert.ok(isRebalancing(protocolError('ILLEGAL_GENERATION', false)));
  assert.ok(!isRebalancing(protocolError('LEADER_NOT_AVAILABLE', true)));
  assert.ok(!isRebalancing(new ConsumerStateError('x')));
  assert.ok(!isRebalancing(null));
});

test('a non-retriable wrapper around a refused connection (a stopped broker) is retriable', () => {
  // kafkajs's typings omit the options argument that kafkajs itself passes.
  type Wrapping = new (e: Error, options: { cause: unknown }) => Error;
  const NonRetriable = KafkaJSNonRetriableError as unknown as Wrapping;
  const refused = new KafkaJSConnectionError(
    'Connection error: connect ECONNREFUSED 127.0.0.1:9092',
  );
  assert.equal(isRetriable(new NonRetriable(refused, { cause: refused })), true);
  const poison = new TypeError('x is undefined');
  assert.equal(isRetriable(new NonRetriable(poison, { cause: poison })), false);
  assert.equal(isRetriable(new KafkaJSNonRetriableError('no cause')), false);
});
