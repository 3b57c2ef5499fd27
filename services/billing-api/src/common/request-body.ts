import { isUtf8 } from 'node:buffer';
import { type IncomingMessage, type ServerResponse } from 'node:http';

/**
 * body-parser's `verify` hook: a UTF-8 body must be valid UTF-8. Without it, invalid bytes would
 * be decoded as U+FFFD and stored as another value than the client sent. The thrown error keeps
 * status 400 and the type the exception filter reads (error.filter.ts).
 */
export function verifyUtf8Body(
  req: IncomingMessage & RawBodyRequest,
  _res: ServerResponse,
  body: Buffer,
  encoding: string,
): void {
  // Kept for the Idempotency-Key fingerprint: the bytes as sent, not a re-serialisation.
  req.rawBody = body;
  if (encoding.toLowerCase() === 'utf-8' && !isUtf8(body)) {
    throw Object.assign(new Error('body: is not valid UTF-8'), {
      status: 400,
      type: INVALID_UTF8_BODY,
    });
  }
}

export const INVALID_UTF8_BODY = 'entity.encoding.invalid';

/** A request whose JSON body was read: its bytes as sent. */
export interface RawBodyRequest {
  rawBody?: Buffer;
}
