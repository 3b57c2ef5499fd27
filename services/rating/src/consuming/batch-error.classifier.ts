import { isTransientSocketError } from '@metering/kafka';

/**
 * Whether a failed batch failed because of the infrastructure (retry the same batch later) or
 * possibly because of what it carries (find the message responsible and dead-letter it).
 *
 * Only what is known to be about the infrastructure counts as such: the database's connection,
 * concurrency and resource errors, Kafka's errors, sockets, the usage producer, an error that says
 * it is retriable. Everything else — a data exception from PostgreSQL (a NUL byte, a number out of
 * range), an index row too large, a TypeError or RangeError on odd input, an unknown error — may be
 * caused by one message, and the processor isolates it (SampleBatchProcessor). An infrastructure
 * error retried forever stalls a partition visibly (the runner reports it); a message error
 * retried forever would stall it for good, which is what this split prevents.
 */
export function isInfrastructureError(error: unknown): boolean {
  return classify(error, 0);
}

/**
 * SQLSTATE classes of PostgreSQL that are about the server or the session, not the statement's
 * data: 08 connection, 40 rollback (serialization failure, deadlock), 53 insufficient resources,
 * 55 object not in prerequisite state (lock not available), 57 operator intervention (shutdown,
 * statement timeout), 58 system error, XX internal error, 25 invalid transaction state (a
 * consequence of an earlier failure), F0 configuration, HV foreign data.
 */
const INFRASTRUCTURE_SQLSTATE_CLASSES = new Set([
  '08',
  '40',
  '53',
  '55',
  '57',
  '58',
  'XX',
  '25',
  'F0',
  'HV',
]);

/** node-postgres and TypeORM errors about the connection that carry no SQLSTATE. */
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'is not queryable',
  'Cannot use a pool after calling end',
  'Client was closed',
  'Connection is not established',
  'Query read timeout',
];

const INFRASTRUCTURE_NAMES = new Set(['AbortError', 'UsageProducerError']);

function classify(error: unknown, depth: number): boolean {
  if (!(error instanceof Error) || depth > 5) return false;
  const flagged = (error as { retriable?: unknown }).retriable;
  if (flagged === true) return true;
  if (error.name.startsWith('KafkaJS') || INFRASTRUCTURE_NAMES.has(error.name)) return true;
  // Before the SQLSTATE: EPIPE has a SQLSTATE's shape.
  if (isTransientSocketError(error)) return true;
  const sqlState = sqlStateOf(error);
  if (sqlState !== null) return INFRASTRUCTURE_SQLSTATE_CLASSES.has(sqlState.slice(0, 2));
  if (CONNECTION_MESSAGES.some((m) => error.message.includes(m))) return true;
  if (error instanceof AggregateError) {
    return error.errors.length > 0 && error.errors.every((e) => classify(e, depth + 1));
  }
  return error.cause !== undefined && classify(error.cause, depth + 1);
}

/** The SQLSTATE of a pg DatabaseError, or of the driver error inside TypeORM's QueryFailedError. */
function sqlStateOf(error: Error): string | null {
  for (const candidate of [error, (error as { driverError?: unknown }).driverError]) {
    const code = (candidate as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return null;
}
