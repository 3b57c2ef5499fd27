import { createRequire } from 'node:module';

// kafkajs 2.2.4's Connection.processData keeps the bytes that came after a complete response as a
// slice of that response's buffer (`this.chunks = [decoder.readAll()]`), even when there are none:
// a fetch response of megabytes then lives until the next response is complete, long enough to be
// promoted, and is freed only by V8's next full collection, whose start that memory brings
// forward (ADR 14, "TypeORM out of rating's process, and what starts the full collections").
// Here, on the shared prototype, the bytes kept after processData are a copy when they are a
// slice of a larger buffer: the response dies young. Nothing else changes: the bytes kept are
// the same, and so is every response kafkajs hands on.

/** The part of kafkajs's Connection the patch reads and wraps. */
export interface ConnectionShape {
  chunks?: unknown;
  processData: (this: ConnectionShape, rawData: Buffer) => unknown;
}

const PATCHED = Symbol.for('metering.kafkajs.connection.own-remainder');

type ConnectionClass = { prototype: ConnectionShape & { [PATCHED]?: true } };

function loadConnection(): ConnectionClass {
  const require = createRequire(__filename);
  // kafkajs has no "exports" map; its internals are reachable by path.
  return require('kafkajs/src/network/connection') as ConnectionClass;
}

/** The kept bytes as a buffer of their own when they are a slice of a larger one. */
export function ownRemainder(connection: ConnectionShape): void {
  const { chunks } = connection;
  if (!Array.isArray(chunks) || chunks.length !== 1) return;
  const kept: unknown = chunks[0];
  if (Buffer.isBuffer(kept) && kept.byteLength < kept.buffer.byteLength) {
    chunks[0] = Buffer.from(kept);
  }
}

/** Wraps Connection.prototype.processData (once per process). */
export function patchKafkajsConnection(Connection = loadConnection()): void {
  const proto = Connection.prototype;
  if (proto[PATCHED] === true) return;
  const processData = proto.processData;
  proto.processData = function processDataOwningRemainder(this: ConnectionShape, rawData) {
    const result = processData.call(this, rawData);
    ownRemainder(this);
    return result;
  };
  proto[PATCHED] = true;
}
