import {
  KafkaJSConnectionError,
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSRequestTimeoutError,
} from 'kafkajs';

/**
 * Programming errors and failed decoding: running the same code on the same bytes again
 * gives the same result. kafkajs treats the first three the same way.
 */
const NEVER_RETRIABLE_NAMES = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError']);

/** Node's socket errors: the broker or a dependency is unreachable for now. */
const TRANSIENT_SYSTEM_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'ECONNABORTED',
  'EAI_AGAIN',
]);

/** Whether the error is one of Node's socket or DNS errors (a dependency unreachable for now). */
export function isTransientSocketError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TRANSIENT_SYSTEM_CODES.has(code);
}

/**
 * Whether trying the same operation again later may succeed. Consumers retry what is
 * retriable (with backoff, keeping their position) and dead-letter what is not.
 *
 * - KafkaJSNumberOfRetriesExceeded is retriable although kafkajs marks it non-retriable:
 *   kafkajs only gives up retrying errors that were retriable, so the cause was transient
 *   (a broker down longer than the retry budget) and a later attempt may succeed.
 * - Connection and request-timeout errors are retriable.
 * - KafkaJSNonRetriableError (and subclasses) are fatal, except when kafkajs wrapped a
 *   transient cause in one: once a send's connection retries run out against a stopped
 *   broker, kafkajs rejects with a non-retriable error whose `cause` is the refused
 *   connection. Other kafkajs errors carry a `retriable` flag from the broker's error code,
 *   which is used as is.
 * - Decoding and schema errors (MessageDecodingError, JSON SyntaxError, RangeError from
 *   reading a short buffer) and programming errors are fatal.
 * - Any other error that declares `retriable: boolean` is taken at its word; one that
 *   declares nothing is retriable, as in kafkajs, so that a dependency's outage never
 *   dead-letters good messages.
 */
export function isRetriable(error: unknown): boolean {
  if (error instanceof KafkaJSNumberOfRetriesExceeded) return true;
  if (error instanceof KafkaJSConnectionError || error instanceof KafkaJSRequestTimeoutError) {
    return true;
  }
  if (error instanceof KafkaJSNonRetriableError) return wrapsTransientCause(error);
  if (error instanceof KafkaJSError) return error.retriable;
  if (error instanceof AggregateError) return allRetriable(error.errors);
  if (!(error instanceof Error)) return false;
  if (hasRetriableFlag(error)) return error.retriable;
  if (isAggregateLike(error)) return allRetriable(error.errors);
  if (isTransientSocketError(error)) return true;
  return !NEVER_RETRIABLE_NAMES.has(error.name);
}

function wrapsTransientCause(error: Error, depth = 0): boolean {
  const cause = error.cause;
  if (!(cause instanceof Error) || cause === error || depth > 4) return false;
  if (cause instanceof KafkaJSNonRetriableError) return wrapsTransientCause(cause, depth + 1);
  return isRetriable(cause);
}

function hasRetriableFlag(error: Error): error is Error & { retriable: boolean } {
  return typeof (error as { retriable?: unknown }).retriable === 'boolean';
}

/** KafkaJSAggregateError does not extend AggregateError but has the same `errors` list. */
function isAggregateLike(error: Error): error is Error & { errors: unknown[] } {
  return (
    error.name === 'KafkaJSAggregateError' && Array.isArray((error as { errors?: unknown }).errors)
  );
}

function allRetriable(errors: readonly unknown[]): boolean {
  return errors.length > 0 && errors.every(isRetriable);
}

/** Group-membership errors that mean "rejoin the group", not "this operation failed". */
export function isRebalancing(error: unknown): boolean {
  const type = (error as { type?: unknown } | null)?.type;
  return (
    type === 'REBALANCE_IN_PROGRESS' ||
    type === 'NOT_COORDINATOR_FOR_GROUP' ||
    type === 'ILLEGAL_GENERATION'
  );
}
