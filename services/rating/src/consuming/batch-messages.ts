import { HOST_AUTH_HEADER, type HostKeyLookup, verifyHostAuth } from '@metering/contracts';
import {
  type ConsumedBatch,
  type ConsumedMessage,
  type Rejection,
  messageParts,
} from '@metering/kafka';
import { type MeteredSample, checkSampleRules } from '../domain';
import { InstanceNamer, addNamed } from './sample-instance';
import { decodeMeteredSample } from './sample.decoder';

// The parts of a batch's handling that concern its messages one by one: decoding and checking
// them, and cutting a failing batch in parts to find the message responsible
// (SampleBatchProcessor.process).

/** The rating clock and its limits. */
export interface BatchClockRules {
  readonly nowMs: number;
  readonly maxFutureSkewMs: number;
  /** Samples observed longer ago are dead-lettered (SAMPLE_TOO_OLD); absent: no limit. */
  readonly maxSampleAgeMs?: number | undefined;
  /**
   * The per-host keys (ADR 0010): a sample whose `metering-host-auth` MAC does not prove that the
   * host it names produced it is dead-lettered (HOST_UNVERIFIED). Absent: not checked.
   */
  readonly hostKeys?: HostKeyLookup | undefined;
}

/** What decoding a batch refused so far: dead letters, and of them the UNRATEABLE ones. */
export interface Refusals {
  readonly rejections: Rejection[];
  unrateable: number;
}

/**
 * Decodes and checks the messages: the contract (libs/contracts, through the fast path), the
 * Kafka key (the resource id, which keeps one resource's samples in order on one partition), the
 * rating clock's rules. Messages found to make the batch fail (`poisoned`) are rejected as
 * UNRATEABLE with the error.
 */
export function decodeBatch(
  messages: readonly ConsumedMessage[],
  poisoned: ReadonlyMap<string, unknown>,
  clock: BatchClockRules,
): {
  samples: MeteredSample[];
  rejections: Rejection[];
  /** The message of each sample: `messages[i]` carried `samples[i]`. */
  messages: ConsumedMessage[];
  unrateable: number;
} {
  const samples: MeteredSample[] = [];
  const refused: Refusals = { rejections: [], unrateable: 0 };
  const sampleMessages: ConsumedMessage[] = [];
  for (const message of messages) {
    const sample = decodeMessage(message, poisoned, clock, refused);
    if (sample === null) continue;
    samples.push(sample);
    sampleMessages.push(message);
  }
  return { ...refused, samples, messages: sampleMessages };
}

/**
 * decodeBatch one message at a time, each sample handed on as it is decoded (and garbage after its
 * turn unless the consumer keeps it), the refusals gathered in `refused`. Each sample's instance
 * must be one of `named` (instancesNamed: the states loaded before decoding); one that is not ends
 * the iteration with UnnamedInstance.
 */
export function decodeEach(
  messages: readonly ConsumedMessage[],
  poisoned: ReadonlyMap<string, unknown>,
  clock: BatchClockRules,
  refused: Refusals,
  named: ReadonlyMap<string, ReadonlySet<string>>,
): Iterable<MeteredSample> {
  return { [Symbol.iterator]: () => new EachDecoded(messages, poisoned, clock, refused, named) };
}

/**
 * decodeEach's iterator, written out rather than a generator: one result object for the whole
 * batch (a for-of reads it before asking for the next), no generator to resume a message.
 */
class EachDecoded implements Iterator<MeteredSample, undefined> {
  private at = 0;
  private readonly result: IteratorResult<MeteredSample, undefined> = {
    done: false,
    value: undefined as unknown as MeteredSample,
  };

  constructor(
    private readonly messages: readonly ConsumedMessage[],
    private readonly poisoned: ReadonlyMap<string, unknown>,
    private readonly clock: BatchClockRules,
    private readonly refused: Refusals,
    private readonly named: ReadonlyMap<string, ReadonlySet<string>>,
  ) {}

  next(): IteratorResult<MeteredSample, undefined> {
    const { messages, result } = this;
    while (this.at < messages.length) {
      const message = messages[this.at++]!;
      const sample = decodeMessage(message, this.poisoned, this.clock, this.refused);
      if (sample === null) continue;
      if (this.named.get(sample.resourceId)?.has(sample.instanceId) !== true)
        throw new UnnamedInstance(message.offset);
      result.value = sample;
      return result;
    }
    return { done: true, value: undefined };
  }
}

/** A sample whose instance instancesNamed did not name: its batch is rated the exact way. */
export class UnnamedInstance extends Error {
  constructor(offset: string) {
    super(`the instance of the sample at offset ${offset} was not named before decoding`);
    this.name = 'UnnamedInstance';
  }
}

/**
 * The instances the messages' samples are about (resource id → instance ids), as the states'
 * query needs them before the batch is decoded: read from each message's bytes without decoding
 * it (nameInstance), a message whose bytes do not name it plainly decoded for it (and one that does
 * not decode is about none). Poisoned messages are about none either. `namer`: the processor's, which
 * remembers where each resource's messages name their instance (InstanceNamer); by default a
 * new one, which remembers them for this call only. A lean record is named from its parts
 * (messageParts), without the views `key` and `value` make.
 */
export function instancesNamed(
  messages: readonly ConsumedMessage[],
  poisoned: ReadonlyMap<string, unknown>,
  namer: Pick<InstanceNamer, 'name' | 'nameParts'> = new InstanceNamer(),
): Map<string, Set<string>> {
  const named = new Map<string, Set<string>>();
  for (const message of messages) {
    if (poisoned.size > 0 && poisoned.has(message.offset)) continue;
    const parts = messageParts(message);
    if (
      parts !== null ? namer.nameParts(parts, named) : namer.name(message.key, message.value, named)
    )
      continue;
    const decoded = decodeMeteredSample(message.value);
    if (decoded.ok) addNamed(named, decoded.value.resourceId, decoded.value.instanceId);
  }
  return named;
}

/** One message's sample, or null with its refusal added to `refused`. */
function decodeMessage(
  message: ConsumedMessage,
  poisoned: ReadonlyMap<string, unknown>,
  clock: BatchClockRules,
  refused: Refusals,
): MeteredSample | null {
  const { rejections } = refused;
  if (poisoned.size > 0 && poisoned.has(message.offset)) {
    refused.unrateable += 1;
    rejections.push({ message, reason: unrateableReason(poisoned.get(message.offset)) });
    return null;
  }
  const decoded = decodeMeteredSample(message.value);
  if (!decoded.ok) {
    rejections.push({
      message,
      reason: {
        reasonCode: decoded.reason.code,
        message: decoded.reason.message,
        ...(decoded.reason.path === null ? {} : { path: decoded.reason.path }),
      },
    });
    return null;
  }
  const sample = decoded.value;
  const resourceId = sample.resourceId;
  if (!messageKeyIs(message, resourceId)) {
    rejections.push({
      message,
      reason: {
        reasonCode: 'KEY_MISMATCH',
        message: `the Kafka key must be resource.id ("${resourceId}"), got ${describeKey(message.key)}`,
        path: 'resource.id',
      },
    });
    return null;
  }
  if (clock.hostKeys !== undefined) {
    const auth = verifyHostAuth(
      message.headers[HOST_AUTH_HEADER],
      message.key,
      message.value ?? Buffer.alloc(0),
      sample.host,
      clock.hostKeys,
    );
    if (!auth.ok) {
      rejections.push({
        message,
        reason: { reasonCode: 'HOST_UNVERIFIED', message: auth.detail, path: 'host' },
      });
      return null;
    }
  }
  const violation = checkSampleRules(
    sample,
    clock.nowMs,
    clock.maxFutureSkewMs,
    clock.maxSampleAgeMs,
  );
  if (violation !== null) {
    rejections.push({
      message,
      reason: { reasonCode: violation.code, message: violation.message, path: violation.path },
    });
    return null;
  }
  return sample;
}

export function byOffset(a: Rejection, b: Rejection): number {
  const x = BigInt(a.message.offset);
  const y = BigInt(b.message.offset);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Whether the record's key is exactly the UTF-8 of the resource id (exported for its spec). */
export function keyIs(key: Buffer | null, resourceId: string): boolean {
  return key !== null && keyIn(key, 0, key.length, resourceId);
}

/**
 * The message's key check: on its parts when it is a lean record (messageParts: no buffer made
 * over the key), else on its key.
 */
function messageKeyIs(message: ConsumedMessage, resourceId: string): boolean {
  const parts = messageParts(message);
  if (parts === null) return keyIs(message.key, resourceId);
  return parts.keyStart >= 0 && keyIn(parts.bytes, parts.keyStart, parts.keyEnd, resourceId);
}

/** keyIs for the key in bytes[start, end) (exported for its spec). */
export function keyIn(bytes: Uint8Array, start: number, end: number, resourceId: string): boolean {
  const length = end - start;
  if (length < resourceId.length) return false;
  // ASCII ids (the usual ones) byte by byte, without decoding the key to a string.
  if (length === resourceId.length) {
    let i = 0;
    while (i < length) {
      const c = resourceId.charCodeAt(i);
      if (c >= 0x80) break;
      if (bytes[start + i] !== c) return false;
      i += 1;
    }
    if (i === length) return true;
  }
  return (
    Buffer.from(bytes.buffer, bytes.byteOffset + start, length).toString('utf8') === resourceId
  );
}

function describeKey(key: Buffer | null): string {
  if (key === null) return 'no key';
  const text = key.subarray(0, 256).toString('utf8');
  return `${JSON.stringify(text)}${key.length > 256 ? ` (${key.length} bytes)` : ''}`;
}

/** Errors worded for the dead letter: name, code and message, bounded. */
function unrateableReason(error: unknown): { reasonCode: string; message: string } {
  let text: string;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    text = `${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${error.message}`;
  } else {
    text = String(error);
  }
  if (text.length > 1_000) text = `${text.slice(0, 1_000)}…`;
  return {
    reasonCode: 'UNRATEABLE',
    message: `rating failed with this message and not without it: ${text}`,
  };
}

/** Messages [from, to) of a batch, resuming after them where the next part starts. */
export function sliceBatch(batch: ConsumedBatch, from: number, to: number): ConsumedBatch {
  const messages = batch.messages.slice(from, to);
  const next = batch.messages[to];
  return {
    ...batch,
    messages,
    firstOffset: messages[0]!.offset,
    lastOffset: messages.at(-1)!.offset,
    nextOffset: next === undefined ? batch.nextOffset : next.offset,
  };
}
