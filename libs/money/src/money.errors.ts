/**
 * Errors raised by libs/money. Each has a stable `code` that callers may switch on and that
 * the HTTP and consumer layers map to responses or dead-letter reasons. None is retriable:
 * they all describe bad input or a programming error, which a retry cannot fix.
 */
export type MoneyErrorCode =
  | 'MONEY_INVALID_DECIMAL'
  | 'MONEY_UNKNOWN_CURRENCY'
  | 'MONEY_CURRENCY_MISMATCH'
  | 'MONEY_DIVISION_BY_ZERO';

export abstract class MoneyError extends Error {
  abstract readonly code: MoneyErrorCode;
}

export class InvalidDecimalError extends MoneyError {
  readonly code = 'MONEY_INVALID_DECIMAL';

  constructor(readonly input: string) {
    super(
      `Invalid decimal ${JSON.stringify(truncate(input))}: expected digits with an optional sign and fraction, e.g. "-12.30"`,
    );
    this.name = 'InvalidDecimalError';
  }
}

export class UnknownCurrencyError extends MoneyError {
  readonly code = 'MONEY_UNKNOWN_CURRENCY';

  constructor(readonly currency: string) {
    super(
      `Unknown currency code ${JSON.stringify(truncate(currency))}: expected an ISO 4217 code such as "EUR"`,
    );
    this.name = 'UnknownCurrencyError';
  }
}

export class CurrencyMismatchError extends MoneyError {
  readonly code = 'MONEY_CURRENCY_MISMATCH';

  constructor(
    readonly left: string,
    readonly right: string,
  ) {
    super(`Currency mismatch: ${left} and ${right} cannot be combined`);
    this.name = 'CurrencyMismatchError';
  }
}

export class DivisionByZeroError extends MoneyError {
  readonly code = 'MONEY_DIVISION_BY_ZERO';

  constructor() {
    super('Division by zero');
    this.name = 'DivisionByZeroError';
  }
}

// Inputs come from the outside world; keep error messages (and logs) bounded.
function truncate(input: string): string {
  return input.length > 64 ? `${input.slice(0, 64)}…` : input;
}
