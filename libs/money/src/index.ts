export { Decimal, type DecimalLike, decimalToString, parseDecimal, toDecimal } from './decimal';
export {
  assertCurrency,
  type CurrencyCode,
  isKnownCurrency,
  knownCurrencies,
  minorUnitsOf,
} from './currency';
export { Money, type MoneyJson, sumMoney } from './money';
export {
  BYTES_PER_GIB,
  MILLISECONDS_PER_SECOND,
  NANOSECONDS_PER_SECOND,
  SECONDS_PER_HOUR,
  byteSecondsToGibSeconds,
  bytesToGib,
  hoursToSeconds,
  millisecondsToSeconds,
  nanosecondsToCoreSeconds,
  secondsToHours,
  sumDecimals,
} from './quantity';
export {
  CurrencyMismatchError,
  DivisionByZeroError,
  InvalidDecimalError,
  MoneyError,
  type MoneyErrorCode,
  UnknownCurrencyError,
} from './money.errors';
