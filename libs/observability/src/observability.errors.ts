export type ObservabilityErrorCode =
  'METRIC_TYPE_CONFLICT' | 'HEALTH_INDICATOR_DUPLICATE' | 'HEALTH_INDICATOR_TIMEOUT';

/** Misuse of this library; the code is stable, the message is for humans. */
export class ObservabilityError extends Error {
  override readonly name = 'ObservabilityError';

  constructor(
    readonly code: ObservabilityErrorCode,
    message: string,
  ) {
    super(message);
  }
}
