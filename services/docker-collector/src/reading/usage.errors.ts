/** Stable codes of reading failures; also the `kind` label of the read-errors metric. */
export type UsageErrorCode = 'USAGE_VANISHED' | 'USAGE_READ_FAILED' | 'USAGE_LOCATE_FAILED';

/** The container's cgroup (or the container) is gone: it exited. Expected, counted, not fatal. */
export class UsageVanishedError extends Error {
  readonly code = 'USAGE_VANISHED' satisfies UsageErrorCode;
  constructor(readonly where: string) {
    super(`usage source vanished: ${where}`);
    this.name = 'UsageVanishedError';
  }
}

export class UsageReadError extends Error {
  readonly code = 'USAGE_READ_FAILED' satisfies UsageErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageReadError';
  }
}

export class UsageLocateError extends Error {
  readonly code = 'USAGE_LOCATE_FAILED' satisfies UsageErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageLocateError';
  }
}
