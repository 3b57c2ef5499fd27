import { SAMPLE_LIMITS } from '@metering/contracts';
import { type ThinMarker } from './thin-plan';

/**
 * The spool's records are metering.sample.v1 values (SpooledPublisher): the kept sample after
 * thinned ones of its instance gets `thinned` (added to any it had), so rating counts them as
 * thinned (ADR 0013). The value stays JSON with every other field as it was; the host MAC is
 * made when the record is sent, so it covers the mark.
 */
export const sampleThinMarker: ThinMarker = {
  instanceOf(value) {
    const sample = parse(value);
    const resource = sample?.['resource'];
    if (typeof resource !== 'object' || resource === null) return null;
    const instanceId = (resource as Record<string, unknown>)['instanceId'];
    return typeof instanceId === 'string' ? instanceId : null;
  },
  thinnedIn(value) {
    return thinnedOf(parse(value));
  },
  mark(value, dropped) {
    const sample = parse(value);
    if (sample === null) return null;
    sample['thinned'] = Math.min(SAMPLE_LIMITS.maxThinned, thinnedOf(sample) + dropped);
    return Buffer.from(JSON.stringify(sample), 'utf8');
  },
};

function thinnedOf(sample: Record<string, unknown> | null): number {
  const n = sample?.['thinned'];
  return Number.isSafeInteger(n) && (n as number) >= 0 ? (n as number) : 0;
}

function parse(value: Buffer): Record<string, unknown> | null {
  try {
    const json: unknown = JSON.parse(value.toString('utf8'));
    return typeof json === 'object' && json !== null && !Array.isArray(json)
      ? (json as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
