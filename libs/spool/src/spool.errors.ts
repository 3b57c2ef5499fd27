export type SpoolErrorCode =
  | 'SPOOL_CONFIG_INVALID'
  | 'SPOOL_LOCKED'
  | 'SPOOL_CLOSED'
  | 'SPOOL_RECORD_TOO_LARGE'
  | 'SPOOL_CORRUPT'
  | 'SPOOL_ACK_BEYOND_DEPTH'
  | 'PUBLISHER_CLOSED';

/** Errors raised by the spool and the publisher; `code` is stable, the message is for people. */
export class SpoolError extends Error {
  override readonly name: string = 'SpoolError';

  constructor(
    readonly code: SpoolErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A setting is out of range; the message names it. Raised at boot. */
export class SpoolConfigError extends SpoolError {
  override readonly name = 'SpoolConfigError';

  constructor(
    readonly setting: string,
    readonly problem: string,
  ) {
    super('SPOOL_CONFIG_INVALID', `${setting}: ${problem}`);
  }
}

/** Another live process (or another DiskSpool in this one) holds the spool directory. */
export class SpoolLockedError extends SpoolError {
  override readonly name = 'SpoolLockedError';

  constructor(
    readonly dir: string,
    readonly holderPid: number,
  ) {
    super('SPOOL_LOCKED', `spool ${dir} is in use by process ${holderPid}`);
  }
}

export class SpoolClosedError extends SpoolError {
  override readonly name = 'SpoolClosedError';

  constructor() {
    super('SPOOL_CLOSED', 'the spool is closed');
  }
}

export class RecordTooLargeError extends SpoolError {
  override readonly name = 'RecordTooLargeError';

  constructor(
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super('SPOOL_RECORD_TOO_LARGE', `a record of ${bytes} bytes exceeds the limit of ${maxBytes}`);
  }
}

/** A record that passed its CRC when the spool opened no longer does (media error). */
export class SpoolCorruptError extends SpoolError {
  override readonly name = 'SpoolCorruptError';

  constructor(message: string) {
    super('SPOOL_CORRUPT', message);
  }
}

export class AckBeyondDepthError extends SpoolError {
  override readonly name = 'AckBeyondDepthError';

  constructor(count: number, depth: number) {
    super('SPOOL_ACK_BEYOND_DEPTH', `cannot ack ${count} records, the spool holds ${depth}`);
  }
}

/** publish() after close() began. */
export class PublisherClosedError extends SpoolError {
  override readonly name = 'PublisherClosedError';

  constructor() {
    super('PUBLISHER_CLOSED', 'the publisher is closed');
  }
}
