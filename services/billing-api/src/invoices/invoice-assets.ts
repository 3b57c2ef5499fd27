import { readFileSync, statSync } from 'node:fs';
import * as fontkit from 'fontkit';
import { type SellerDetails } from './domain/legal.model';

/** What every PDF needs, read and checked once at boot (config.ts). */
export interface InvoiceAssets {
  readonly seller: SellerDetails;
  /**
   * Parsed once: fontkit decodes tables lazily and keeps them, so each PDF only lays out and
   * subsets (parsing the font per document cost ~250 ms of a ~300 ms render).
   */
  readonly font: { readonly path: string; readonly name: string; readonly font: fontkit.Font };
  readonly logo: { readonly path: string; readonly bytes: Buffer } | null;
}

export interface InvoiceAssetSettings {
  readonly SELLER_LEGAL_NAME?: string | undefined;
  readonly SELLER_ADDRESS?: string | undefined;
  readonly SELLER_TAX_ID?: string | undefined;
  readonly SELLER_EMAIL?: string | undefined;
  readonly SELLER_BANK_NAME?: string | undefined;
  readonly SELLER_IBAN?: string | undefined;
  readonly SELLER_BIC?: string | undefined;
  readonly SELLER_LOGO_FILE?: string | undefined;
  readonly INVOICE_FONT_FILE: string;
  readonly INVOICE_FONT_NAME: string;
}

/** Shown while no seller is configured outside production; the PDF marks it as a sample. */
export const SAMPLE_SELLER: SellerDetails = {
  legalName: 'SAMPLE SELLER – configure SELLER_* before sending invoices',
  address: ['1 Example Street', '00000 Example City', 'Nowhere'],
  taxId: 'XX000000000',
  email: null,
  bank: { name: null, iban: 'XX00 0000 0000 0000', bic: null },
  sample: true,
};

const REQUIRED = ['SELLER_LEGAL_NAME', 'SELLER_ADDRESS', 'SELLER_TAX_ID', 'SELLER_IBAN'] as const;
const SELLER_KEYS = [...REQUIRED, 'SELLER_EMAIL', 'SELLER_BANK_NAME', 'SELLER_BIC'] as const;
const FONT_MAGIC = ['00010000', '74746366', '4f54544f', '74727565']; // TrueType, ttcf, OTTO, true
const MAX_LOGO_BYTES = 1024 * 1024;
/** Scripts a buyer's name may be written in: Latin, Greek, Cyrillic, CJK (issue 15). */
const REQUIRED_GLYPHS = 'AzÄé€Ωμέγα Жж 株式会社';
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * The seller (all of SELLER_LEGAL_NAME, SELLER_ADDRESS, SELLER_TAX_ID, SELLER_IBAN, or none:
 * the sample outside production, an error in production), the Unicode font the PDF embeds and
 * the optional logo. Throws an Error naming the setting.
 */
export function loadInvoiceAssets(env: InvoiceAssetSettings, production: boolean): InvoiceAssets {
  return {
    seller: sellerFrom(env, production),
    font: fontFrom(env.INVOICE_FONT_FILE, env.INVOICE_FONT_NAME),
    logo:
      env.SELLER_LOGO_FILE === undefined || env.SELLER_LOGO_FILE === ''
        ? null
        : logoFrom(env.SELLER_LOGO_FILE),
  };
}

function sellerFrom(env: InvoiceAssetSettings, production: boolean): SellerDetails {
  const set = SELLER_KEYS.filter((k) => (env[k] ?? '').trim() !== '');
  if (set.length === 0 && !production) return SAMPLE_SELLER;
  const missing = REQUIRED.filter((k) => (env[k] ?? '').trim() === '');
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(', ')}: required ${production ? 'with NODE_ENV=production' : 'once any SELLER_* is set'} (the seller on every invoice)`,
    );
  }
  for (const k of SELLER_KEYS) {
    const v = env[k];
    if (production && v?.startsWith('PLACEHOLDER-') === true) {
      throw new Error(`${k}: refused with NODE_ENV=production: a placeholder, not the seller`);
    }
    if (v !== undefined && CONTROL.test(v.replace(/\n/g, ''))) {
      throw new Error(`${k}: holds a control character`);
    }
    if (v !== undefined && v.length > 500) throw new Error(`${k}: longer than 500 characters`);
  }
  const address = (env.SELLER_ADDRESS ?? '')
    .split(/\n|\|/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (address.length > 6) throw new Error('SELLER_ADDRESS: at most 6 lines (separated by "|")');
  const iban = (env.SELLER_IBAN ?? '').replace(/\s+/g, '').toUpperCase();
  if (!isValidIban(iban)) {
    throw new Error('SELLER_IBAN: not a valid IBAN (country, check digits, mod-97 checksum)');
  }
  const bic = env.SELLER_BIC?.trim() || null;
  if (bic !== null && !/^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$/.test(bic)) {
    throw new Error('SELLER_BIC: not a BIC (8 or 11 letters and digits)');
  }
  const email = env.SELLER_EMAIL?.trim() || null;
  if (email !== null && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    throw new Error('SELLER_EMAIL: not an e-mail address');
  }
  return {
    legalName: (env.SELLER_LEGAL_NAME ?? '').trim(),
    address,
    taxId: (env.SELLER_TAX_ID ?? '').trim(),
    email,
    bank: { name: env.SELLER_BANK_NAME?.trim() || null, iban: groupIban(iban), bic },
    sample: false,
  };
}

/** ISO 13616: two letters, two check digits, up to 30 alphanumerics; mod 97 of the rearranged number is 1. */
export function isValidIban(iban: string): boolean {
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const digits = /[A-Z]/.test(ch) ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of digits) remainder = (remainder * 10 + Number(d)) % 97;
  }
  return remainder === 1;
}

function groupIban(iban: string): string {
  return iban.replace(/(.{4})/g, '$1 ').trim();
}

function readChecked(setting: string, path: string, maxBytes: number, hint: string): Buffer {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new Error('not a file');
    size = stat.size;
  } catch (error) {
    throw new Error(`${setting}: cannot read ${path} (${(error as Error).message}); ${hint}`);
  }
  if (size > maxBytes) throw new Error(`${setting}: ${path} is larger than ${maxBytes} bytes`);
  return readFileSync(path);
}

function fontFrom(path: string, name: string): InvoiceAssets['font'] {
  const bytes = readChecked(
    'INVOICE_FONT_FILE',
    path,
    64 * 1024 * 1024,
    'install the Debian package fonts-wqy-microhei (infra/local/deps.sh does) or set INVOICE_FONT_FILE to a TrueType/OpenType font covering Latin, Greek, Cyrillic and CJK',
  );
  if (!FONT_MAGIC.includes(bytes.subarray(0, 4).toString('hex'))) {
    throw new Error(`INVOICE_FONT_FILE: ${path} is not a TrueType/OpenType font or collection`);
  }
  let parsed: fontkit.Font | fontkit.FontCollection | null;
  try {
    // A name selects a face of a collection (.ttc); for a single font fontkit would read it as
    // a variation name.
    const collection = bytes.subarray(0, 4).toString('latin1') === 'ttcf';
    parsed = collection ? fontkit.create(bytes, name) : fontkit.create(bytes);
  } catch (error) {
    throw new Error(
      `INVOICE_FONT_FILE: ${path} cannot be read as a font: ${(error as Error).message}`,
    );
  }
  if (parsed === null || !('hasGlyphForCodePoint' in parsed)) {
    const all = fontkit.create(bytes);
    const names = 'fonts' in all ? all.fonts.map((f) => f.postscriptName).join(', ') : '';
    throw new Error(
      `INVOICE_FONT_NAME: ${path} is a collection without "${name}" (it holds ${names})`,
    );
  }
  const missing = [...REQUIRED_GLYPHS].filter(
    (c) => c !== ' ' && !parsed.hasGlyphForCodePoint(c.codePointAt(0) ?? 0),
  );
  if (missing.length > 0) {
    throw new Error(
      `INVOICE_FONT_FILE: ${path} has no glyph for ${missing.join('')}: Greek, Cyrillic and CJK names would not print`,
    );
  }
  return { path, name, font: parsed };
}

function logoFrom(path: string): InvoiceAssets['logo'] {
  const bytes = readChecked(
    'SELLER_LOGO_FILE',
    path,
    MAX_LOGO_BYTES,
    'a PNG or JPEG of at most 1 MiB',
  );
  const png = bytes.subarray(0, 8).equals(Buffer.from('89504e470d0a1a0a', 'hex'));
  const jpeg = bytes.subarray(0, 3).equals(Buffer.from('ffd8ff', 'hex'));
  if (!png && !jpeg) throw new Error(`SELLER_LOGO_FILE: ${path} is neither a PNG nor a JPEG`);
  return { path, bytes };
}
