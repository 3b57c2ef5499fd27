import { type DecodeErrorCode, type DecodeFailure } from './decode';

/**
 * Thrown by the encode helpers when a producer is about to publish an event that its own
 * schema rejects: a programming error, caught before it reaches consumers.
 */
export class ContractViolationError extends Error {
  readonly code: DecodeErrorCode;
  readonly path: string | null;

  constructor(readonly reason: DecodeFailure) {
    super(reason.message);
    this.name = 'ContractViolationError';
    this.code = reason.code;
    this.path = reason.path;
  }
}
