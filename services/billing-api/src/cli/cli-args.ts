import { isSupportedPeriod, PERIOD_MESSAGE } from '../common/validators';
import { PAGE_MAX } from '../common/page.dto';
import { DELIVERY_STATUSES, ENDPOINT_STATUSES } from '../webhooks/domain/delivery-log';

/**
 * The CLI's argument parsers (commander calls them; a throw is a usage error, exit 2). Each
 * checks the shape only — whether a well-formed id exists is the operation's answer (exit 1).
 * Pure.
 */

/** Exit codes of `billing`: 0 done, 1 the operation failed, 2 the command line is wrong. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The command line is wrong: a one-line reason naming the argument (exit 2). */
export class UsageError extends Error {
  readonly code = 'USAGE';
}

/** A parser's complaint, before it knows the argument's name. */
class InvalidValue extends Error {}

const CONTROLS =
  /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/gu;

/**
 * Text safe to echo on a terminal: control, format (bidi) and lone-surrogate characters as
 * \u escapes, and at most `max` characters of a long value (its length said).
 */
export function printable(value: string, max = 64): string {
  const head = [...value.slice(0, max * 2)].slice(0, max).join('');
  const shown = head.replace(
    CONTROLS,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return head.length < value.length ? `${shown}… (${value.length} characters)` : shown;
}

export function parsePeriod(value: string): string {
  if (!isSupportedPeriod(value)) throw new InvalidValue(PERIOD_MESSAGE);
  return value;
}

/** Webhook delivery ids are the log's row numbers. */
export function parseDeliveryId(value: string): string {
  if (!/^[1-9]\d{0,17}$/.test(value)) {
    throw new InvalidValue('must be a delivery id: a whole number, e.g. 42');
  }
  return value;
}

/** Endpoint and tenant ids as the webhook API takes them (ASCII letters, digits, `._-`; ≤ 128). */
export function parseResourceId(value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(value)) {
    throw new InvalidValue(
      'must be an id of ASCII letters, digits, ".", "_" and "-" (at most 128), e.g. we_0123abcd',
    );
  }
  return value;
}

export function parseDeliveryStatus(value: string): string {
  if (!(DELIVERY_STATUSES as readonly string[]).includes(value)) {
    throw new InvalidValue(`must be one of ${DELIVERY_STATUSES.join(', ')}`);
  }
  return value;
}

export function parseEndpointStatus(value: string): string {
  if (!(ENDPOINT_STATUSES as readonly string[]).includes(value)) {
    throw new InvalidValue(`must be one of ${ENDPOINT_STATUSES.join(', ')}`);
  }
  return value;
}

export function parseLimit(value: string): number {
  if (!/^[1-9]\d{0,3}$/.test(value) || Number(value) > PAGE_MAX) {
    throw new InvalidValue(`must be a whole number from 1 to ${PAGE_MAX}`);
  }
  return Number(value);
}

/** A page cursor as the API makes them (base64url payload, a dot, a MAC); checked there. */
export function parseCursor(value: string): string {
  if (!/^[A-Za-z0-9_-]{1,2048}\.[A-Za-z0-9_-]{22}$/.test(value)) {
    throw new InvalidValue('must be the nextCursor of the previous page, unchanged');
  }
  return value;
}

export function parseFormat(value: string): 'csv' | 'jsonl' {
  if (value !== 'csv' && value !== 'jsonl') throw new InvalidValue('must be csv or jsonl');
  return value;
}

export function parseOutFile(value: string): string {
  if (value.length === 0 || value.length > 4096 || /[\p{Cc}]/u.test(value)) {
    throw new InvalidValue('must be a file path without control characters');
  }
  return value;
}

/**
 * A parser for commander that names its argument: `--limit: must be … (given "-5")`, thrown as
 * a UsageError (commander passes it through as is). An option given a second time is refused:
 * `--limit 5 --limit 500` would otherwise silently mean the last one.
 */
export function named<T>(
  name: string,
  parse: (value: string) => T,
): (value: string, previous: T | undefined) => T {
  return (value, previous) => {
    if (previous !== undefined) throw new UsageError(`${name} is given more than once`);
    try {
      return parse(value);
    } catch (error) {
      if (!(error instanceof InvalidValue)) throw error;
      throw new UsageError(`${name} ${error.message} (given "${printable(value)}")`);
    }
  };
}
