import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadBillingConfig } from '../config';
import { isValidIban, SAMPLE_SELLER } from './invoice-assets';

const KEY = { ADMIN_API_KEY: '3f9a1c7e2b8d4f6a0c5e9b1d7f3a8c2e' };
const SELLER = {
  SELLER_LEGAL_NAME: 'Ωμέγα Cloud ΑΕ',
  SELLER_ADDRESS: 'Hauptstraße 1|10115 Berlin|Germany',
  SELLER_TAX_ID: 'DE123456789',
  SELLER_IBAN: 'de89 3704 0044 0532 0130 00',
};
const file = (name: string, bytes: Buffer | string): string => {
  const path = join(mkdtempSync(join(tmpdir(), 'billing-assets-')), name);
  writeFileSync(path, bytes);
  return path;
};
const refused = (env: Record<string, string>, pattern: RegExp) =>
  assert.throws(
    () => loadBillingConfig({ ...KEY, ...env }),
    (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
  );

test('no seller outside production: the clearly marked sample; in production: a boot error naming the settings', () => {
  assert.deepEqual(loadBillingConfig(KEY).invoice.seller, SAMPLE_SELLER);
  assert.equal(SAMPLE_SELLER.sample, true);
  refused(
    { NODE_ENV: 'production' },
    /SELLER_LEGAL_NAME, SELLER_ADDRESS, SELLER_TAX_ID, SELLER_IBAN: required with NODE_ENV=production/,
  );
  // Half a seller is a mistake everywhere.
  refused(
    { SELLER_LEGAL_NAME: 'Acme' },
    /SELLER_ADDRESS, SELLER_TAX_ID, SELLER_IBAN: required once any SELLER_\* is set/,
  );
});

test('a complete seller: address lines, IBAN normalised and grouped, optional BIC and e-mail', () => {
  const seller = loadBillingConfig({
    ...KEY,
    ...SELLER,
    NODE_ENV: 'production',
    SELLER_BIC: 'COBADEFFXXX',
    SELLER_EMAIL: 'billing@example.com',
    SELLER_BANK_NAME: 'Commerzbank',
  }).invoice.seller;
  assert.deepEqual(seller, {
    legalName: 'Ωμέγα Cloud ΑΕ',
    address: ['Hauptstraße 1', '10115 Berlin', 'Germany'],
    taxId: 'DE123456789',
    email: 'billing@example.com',
    bank: { name: 'Commerzbank', iban: 'DE89 3704 0044 0532 0130 00', bic: 'COBADEFFXXX' },
    sample: false,
  });
});

test('bad seller settings are refused naming the setting', () => {
  refused(
    { ...SELLER, SELLER_IBAN: 'DE89 3704 0044 0532 0130 01' },
    /SELLER_IBAN: not a valid IBAN/,
  );
  refused({ ...SELLER, SELLER_IBAN: '12345' }, /SELLER_IBAN/);
  refused({ ...SELLER, SELLER_BIC: 'not a bic' }, /SELLER_BIC/);
  refused({ ...SELLER, SELLER_EMAIL: 'nobody' }, /SELLER_EMAIL/);
  refused({ ...SELLER, SELLER_TAX_ID: 'DE1\u0000' }, /SELLER_TAX_ID: holds a control character/);
  refused({ ...SELLER, SELLER_LEGAL_NAME: 'x'.repeat(501) }, /SELLER_LEGAL_NAME: longer than 500/);
  refused({ ...SELLER, SELLER_ADDRESS: '1|2|3|4|5|6|7' }, /SELLER_ADDRESS: at most 6 lines/);
  // The k8s base ships marked placeholders: production refuses them, naming the setting.
  refused(
    { ...SELLER, NODE_ENV: 'production', SELLER_TAX_ID: 'PLACEHOLDER-replace-me-seller-tax-id' },
    /SELLER_TAX_ID: refused with NODE_ENV=production: a placeholder/,
  );
});

test('IBAN checksum (ISO 13616 mod 97)', () => {
  assert.equal(isValidIban('DE89370400440532013000'), true);
  assert.equal(isValidIban('GB82WEST12345698765432'), true);
  assert.equal(isValidIban('GB82WEST12345698765433'), false);
  assert.equal(isValidIban('DE8937040044053201300'), false, 'one digit short');
  assert.equal(isValidIban(''), false);
  assert.equal(isValidIban('XX'), false);
});

test('the font: found, a font, and covering Greek, Cyrillic and CJK; else a boot error that says what to do', () => {
  const font = loadBillingConfig(KEY).invoice.font;
  assert.equal(font.path, '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc');
  assert.equal(font.font.hasGlyphForCodePoint('株'.codePointAt(0) ?? 0), true);
  refused(
    { INVOICE_FONT_FILE: '/nonexistent/font.ttf' },
    /INVOICE_FONT_FILE: cannot read \/nonexistent\/font.ttf .*fonts-wqy-microhei/,
  );
  refused(
    { INVOICE_FONT_FILE: file('x.ttf', 'not a font at all') },
    /INVOICE_FONT_FILE: .* is not a TrueType\/OpenType font/,
  );
  // DejaVu Sans covers Greek and Cyrillic but not CJK.
  refused(
    { INVOICE_FONT_FILE: '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf' },
    /INVOICE_FONT_FILE: .* has no glyph for 株式会社/,
  );
  refused(
    { INVOICE_FONT_NAME: 'NoSuchFace' },
    /INVOICE_FONT_NAME: .* collection without "NoSuchFace"/,
  );
});

test('the logo: a PNG or JPEG of at most 1 MiB', () => {
  const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(16)]);
  assert.equal(
    loadBillingConfig({ ...KEY, SELLER_LOGO_FILE: file('l.png', png) }).invoice.logo?.bytes.length,
    24,
  );
  assert.equal(loadBillingConfig(KEY).invoice.logo, null);
  refused(
    { SELLER_LOGO_FILE: file('l.gif', 'GIF89a') },
    /SELLER_LOGO_FILE: .* neither a PNG nor a JPEG/,
  );
  refused({ SELLER_LOGO_FILE: '/nonexistent.png' }, /SELLER_LOGO_FILE: cannot read/);
  refused(
    { SELLER_LOGO_FILE: file('big.png', Buffer.concat([png, Buffer.alloc(1024 * 1024)])) },
    /SELLER_LOGO_FILE: .* larger than 1048576 bytes/,
  );
});
