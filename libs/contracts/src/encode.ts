import { ContractViolationError } from './contract.errors';
import {
  type DecodeResult,
  validateDlq,
  validateInvoiceEvent,
  validateSample,
  validateUsage,
} from './decode';
import { type InvoiceEvent } from './invoice.event';
import { type DlqEvent } from './dlq.event';
import { canonicalSample, isCanonicalSample, isSampleValid } from './sample.check';
import { type SampleEvent } from './sample.event';
import { type UsageEvent } from './usage.event';

/** JSON → UTF-8 bytes for a Kafka message value. No validation: see the typed encoders. */
export function encode(value: unknown): Buffer {
  const json = JSON.stringify(value);
  if (json === undefined) {
    throw new TypeError('encode: value has no JSON representation');
  }
  return Buffer.from(json, 'utf8');
}

// Producers validate too (product.md, "Events"): a bad event fails at its source with a
// ContractViolationError instead of in every consumer.

/**
 * A valid sample is checked and ordered without zod (sample.check.ts: the schema's verdict and
 * output, proven equal by sample.check.property.spec.ts); an invalid one goes through zod for
 * its message. A sample already in the schema's order is encoded as it is (isCanonicalSample):
 * the same bytes, without the copy.
 */
export function encodeSample(sample: SampleEvent): Buffer {
  if (isSampleValid(sample)) {
    return encode(isCanonicalSample(sample) ? sample : canonicalSample(sample));
  }
  return encode(orThrow(validateSample(sample)));
}

export function encodeUsage(usage: UsageEvent): Buffer {
  return encode(orThrow(validateUsage(usage)));
}

export function encodeDlq(event: DlqEvent): Buffer {
  return encode(orThrow(validateDlq(event)));
}

export function encodeInvoiceEvent(event: InvoiceEvent): Buffer {
  return encode(orThrow(validateInvoiceEvent(event)));
}

function orThrow<T>(result: DecodeResult<T>): T {
  if (!result.ok) {
    throw new ContractViolationError(result.reason);
  }
  return result.value;
}
