import { isUtf8 } from 'node:buffer';
import {
  type DecodeResult,
  type MessageBytes,
  SAMPLE_LIMITS,
  SCHEMA_VERSIONS,
  type SampleEvent,
  decodeSample,
  isPrintableText,
  utf8ByteLength,
} from '@metering/contracts';
import { z } from 'zod';
import { type MeteredSample } from '../domain';
import { decodeSampleBytes } from './sample-bytes';
import { toMeteredSample } from './sample.mapper';

// The very pattern the contract's `timestamp` (z.iso.datetime({ offset: true })) checks with.
const TIMESTAMP = z.core.regexes.datetime({ offset: true, precision: null, local: false });
const U64 = /^\d{1,20}$/;
const U64_MAX = 2n ** 64n - 1n;

/**
 * libs/contracts' decodeSample with a fast path for the common case. The contract's decoder
 * (strict UTF-8, JSON, zod) costs more than rating the sample; here a well-formed sample is
 * checked field by field with the schema's own rules and patterns, and anything the fast path
 * does not accept goes through decodeSample, which decides (and words the DLQ reason). So the
 * result is decodeSample's for every input: sample.decoder.spec.ts checks that on valid and
 * mutated samples.
 */
export function decodeSampleFast(bytes: MessageBytes): DecodeResult<SampleEvent> {
  if (bytes instanceof Uint8Array && bytes.length > 0 && isUtf8(bytes)) {
    let json: unknown;
    try {
      // kafkajs hands out Buffers: read as they are (no view made per message).
      const buffer = Buffer.isBuffer(bytes)
        ? bytes
        : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
      json = JSON.parse(buffer.toString('utf8'));
    } catch {
      json = undefined;
    }
    if (isWellFormedSample(json)) return { ok: true, value: json };
  }
  return decodeSample(bytes);
}

/**
 * A message's sample as the rating domain takes it: read from its bytes when they are of the shape
 * collectors publish (sample-bytes.ts), else decodeSampleFast and the mapper — the same result
 * for every input (sample-bytes.spec.ts), at a fraction of the work for the common one.
 */
export function decodeMeteredSample(bytes: MessageBytes): DecodeResult<MeteredSample> {
  if (bytes instanceof Uint8Array) {
    const sample = decodeSampleBytes(bytes);
    if (sample !== null) return { ok: true, value: sample };
  }
  return decodeMeteredSampleByContract(bytes);
}

/** A message's sample the contract's way (decodeSampleFast, then the mapper), for every input. */
export function decodeMeteredSampleByContract(bytes: MessageBytes): DecodeResult<MeteredSample> {
  const decoded = decodeSampleFast(bytes);
  return decoded.ok ? { ok: true, value: toMeteredSample(decoded.value) } : decoded;
}

type Json = Record<string, unknown>;
const L = SAMPLE_LIMITS;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The contract's boundedText: printable, at most `maxBytes` of UTF-8 (ASCII counted cheaply). */
function text(v: unknown, maxBytes: number, allowEmpty = false): boolean {
  if (typeof v !== 'string' || (!allowEmpty && v.length === 0)) return false;
  if (v.length > maxBytes) return false;
  return isPrintableText(v) && (v.length * 3 <= maxBytes || utf8ByteLength(v) <= maxBytes);
}
const timestamp = (v: unknown): v is string => typeof v === 'string' && TIMESTAMP.test(v);

/** Absent, or a safe integer within [min, max]. */
function optionalInt(v: unknown, min: number, max: number): boolean {
  return (
    v === undefined || (Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max)
  );
}

/** Exactly SampleEventSchema's rules, for values that pass them all. */
function isWellFormedSample(v: unknown): v is SampleEvent {
  if (!isObject(v) || v['schema'] !== SCHEMA_VERSIONS.sample) return false;
  if (!text(v['sampleId'], L.idBytes) || !text(v['host'], L.hostBytes)) return false;
  const source = v['source'];
  if (source !== 'docker' && source !== 'libvirt') return false;
  const lifecycle = v['lifecycle'];
  if (lifecycle !== 'start' && lifecycle !== 'running' && lifecycle !== 'final') return false;
  const resource = v['resource'];
  if (!isObject(resource)) return false;
  const kind = resource['kind'];
  if (kind !== 'container' && kind !== 'vm') return false;
  if (!text(resource['id'], L.idBytes) || !text(resource['name'], L.nameBytes, true)) return false;
  if (!text(resource['tenantId'], L.tenantIdBytes) || !text(resource['instanceId'], L.idBytes)) {
    return false;
  }
  const image = resource['image'];
  if (image !== undefined && !text(image, L.imageBytes)) return false;
  const flavour = resource['flavour'];
  if (flavour !== undefined && !text(flavour, L.flavourBytes)) return false;
  const startedAt = resource['startedAt'];
  const observedAt = v['observedAt'];
  if (!timestamp(startedAt) || !timestamp(observedAt)) return false;
  const cpu = v['cpu'];
  if (!isObject(cpu)) return false;
  const usageNs = cpu['usageNs'];
  if (typeof usageNs !== 'string' || !U64.test(usageNs)) return false;
  if (usageNs.length === 20 && BigInt(usageNs) > U64_MAX) return false;
  const cores = cpu['allocationCores'];
  if (
    cores !== null &&
    !(typeof cores === 'number' && cores >= L.minAllocationCores && cores <= L.maxAllocationCores)
  ) {
    return false;
  }
  const hostCores = cpu['hostCores'];
  if (
    hostCores !== undefined &&
    !(
      Number.isSafeInteger(hostCores) &&
      (hostCores as number) >= 1 &&
      (hostCores as number) <= L.maxHostCores
    )
  ) {
    return false;
  }
  if (!optionalInt(v['sequence'], 0, L.maxSequence)) return false;
  if (!optionalInt(v['intervalMs'], 1, L.maxIntervalMs)) return false;
  if (!optionalInt(v['thinned'], 0, L.maxThinned)) return false;
  // Rare (a final a restarted collector inferred): the contract's decoder judges it.
  if (v['inferred'] !== undefined) return false;
  const memory = v['memory'];
  if (!isObject(memory)) return false;
  const usageBytes = memory['usageBytes'];
  if (!(Number.isSafeInteger(usageBytes) && (usageBytes as number) >= 0)) return false;
  const limit = memory['allocationBytes'];
  if (limit !== null && !(Number.isSafeInteger(limit) && (limit as number) > 0)) return false;
  // The schema's refinement: a reading from before the instance started is rejected.
  return !(Date.parse(observedAt) < Date.parse(startedAt));
}
