/**
 * `Accept` negotiation (RFC 9110 §12.5.1) among a route's representations. Pure: the routes
 * pass the header and their offers; `?format=` is decided before (it wins over Accept).
 */
export interface Offer<F extends string> {
  readonly format: F;
  /** type/subtype, lower case */
  readonly mediaType: string;
}

interface MediaRange {
  readonly type: string;
  readonly subtype: string;
  readonly q: number;
  readonly index: number;
}

/** Longer headers are refused rather than parsed (no client needs more). */
const MAX_ACCEPT_LENGTH = 4096;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

export type Negotiated<F> =
  | { readonly kind: 'chosen'; readonly format: F }
  | { readonly kind: 'none' }
  | { readonly kind: 'invalid'; readonly reason: string };

/**
 * The offer the client prefers: highest q, then the most specific range that admits it, then
 * the route's own order (its first offer is its default). No header (or only empty or
 * unparseable ranges) admits everything.
 */
export function negotiate<F extends string>(
  accept: string | undefined,
  offers: readonly Offer<F>[],
): Negotiated<F> {
  const first = offers[0];
  if (first === undefined) return { kind: 'none' };
  if (accept === undefined || accept.trim() === '') return { kind: 'chosen', format: first.format };
  if (accept.length > MAX_ACCEPT_LENGTH) {
    return { kind: 'invalid', reason: `is longer than ${MAX_ACCEPT_LENGTH} characters` };
  }
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u0008\u000a-\u001f\u007f-\uffff]/.exec(accept);
  if (control !== null) {
    return {
      kind: 'invalid',
      reason: `must be visible ASCII (a character U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} at index ${control.index})`,
    };
  }
  const ranges = parseAccept(accept);
  if (ranges.length === 0) return { kind: 'chosen', format: first.format };
  let best: { format: F; q: number; specificity: number; order: number } | null = null;
  offers.forEach((offer, order) => {
    const [type, subtype] = offer.mediaType.split('/') as [string, string];
    // The most specific range that matches decides the offer's q (RFC 9110 §12.5.1).
    let match: { q: number; specificity: number } | null = null;
    for (const r of ranges) {
      const specificity =
        r.type === type && r.subtype === subtype
          ? 2
          : r.type === type && r.subtype === '*'
            ? 1
            : r.type === '*' && r.subtype === '*'
              ? 0
              : -1;
      if (specificity < 0) continue;
      if (match === null || specificity > match.specificity) match = { q: r.q, specificity };
    }
    if (match === null || match.q <= 0) return;
    if (
      best === null ||
      match.q > best.q ||
      (match.q === best.q && match.specificity > best.specificity)
    ) {
      best = { format: offer.format, q: match.q, specificity: match.specificity, order };
    }
  });
  const chosen = best as { format: F } | null;
  return chosen === null ? { kind: 'none' } : { kind: 'chosen', format: chosen.format };
}

/** Media ranges with their q; malformed ones are skipped (lenient, as browsers send odd ones). */
function parseAccept(accept: string): MediaRange[] {
  const out: MediaRange[] = [];
  accept.split(',').forEach((part, index) => {
    const [range, ...params] = part.split(';').map((p) => p.trim());
    if (range === undefined || range === '') return;
    const [type, subtype, extra] = range.toLowerCase().split('/');
    if (type === undefined || subtype === undefined || extra !== undefined) return;
    if (!TOKEN.test(type) || !TOKEN.test(subtype) || (type === '*' && subtype !== '*')) return;
    let q = 1;
    for (const param of params) {
      const [name, value] = param.split('=').map((p) => p.trim());
      if (name?.toLowerCase() !== 'q') continue;
      if (value === undefined || !QVALUE.test(value)) return;
      q = Number(value);
    }
    out.push({ type, subtype, q, index });
  });
  return out;
}
