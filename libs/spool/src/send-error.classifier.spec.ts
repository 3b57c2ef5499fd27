import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
} from 'kafkajs';
import { isTransient } from './send-error.classifier';

// kafkajs's typings omit the constructors' options argument that kafkajs itself passes.
type Wrapping = new (e: Error, options: { cause: unknown }) => Error & { retriable: boolean };
const NonRetriable = KafkaJSNonRetriableError as unknown as Wrapping;

const refused = (): KafkaJSConnectionError =>
  new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092');

test('a broker that is down is transient, however kafkajs wraps it', () => {
  assert.equal(isTransient(refused()), true);
  // What a send rejects with once kafkajs's connection retries ran out (seen against a
  // stopped broker): the send's retrier wraps the exhausted connect as non-retriable.
  const exhausted = new KafkaJSNumberOfRetriesExceeded(refused(), {
    retryCount: 3,
    retryTime: 1_000,
  });
  const wrapped = new NonRetriable(exhausted, { cause: refused() });
  assert.equal(wrapped.retriable, false);
  assert.equal(isTransient(wrapped), true);
});

test('fatal broker answers and programming errors are not', () => {
  const outOfOrder = new KafkaJSProtocolError(
    Object.assign(new Error('The broker received an out of order sequence number'), {
      type: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
      code: 45,
      retriable: false,
    }),
  );
  assert.equal(isTransient(outOfOrder), false);
  assert.equal(isTransient(new NonRetriable(outOfOrder, { cause: outOfOrder })), false);
  assert.equal(isTransient(new TypeError('x is undefined')), false);
});
