import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  signWebhookPayload,
  verifyWebhookSignature,
  WebhookSignatureError,
  webhookSignatureHeader,
} from './webhook-signature';

const SECRET = 'whsec_test_0123456789abcdef';
const OLD = 'whsec_old_fedcba9876543210';
const BODY = '{"eventId":"e1","type":"invoice.finalized"}';
const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);
const T = NOW / 1000;

const verify = (
  header: string | undefined | null,
  extra: Partial<Parameters<typeof verifyWebhookSignature>[0]> = {},
) => verifyWebhookSignature({ payload: BODY, header, secret: SECRET, nowMs: NOW, ...extra });

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof WebhookSignatureError, String(error));
    return error.code;
  }
  assert.fail('accepted');
};

test('a fresh, untampered delivery verifies; the signature is HMAC-SHA256 over t.body', () => {
  const header = webhookSignatureHeader([SECRET], T, BODY);
  assert.deepEqual(verify(header), { timestamp: T });
  // Known answer (openssl dgst -sha256 -hmac k over "1.b"): hmac(secret, `${t}.${body}`).
  assert.equal(
    signWebhookPayload('k', 1, 'b'),
    '2946e37a45bb02a0bf1bf1a7d9219543801fedd301f9f485aebd72c928639bea',
  );
  assert.equal(
    signWebhookPayload('k', 1, Buffer.from('b')),
    '2946e37a45bb02a0bf1bf1a7d9219543801fedd301f9f485aebd72c928639bea',
  );
  assert.equal(header, `t=${T},v1=${signWebhookPayload(SECRET, T, BODY)}`);
});

test('during a rotation either secret verifies (two v1 values)', () => {
  const header = webhookSignatureHeader([SECRET, OLD], T, BODY);
  assert.equal(header.split('v1=').length, 3);
  assert.deepEqual(verify(header), { timestamp: T });
  assert.deepEqual(verify(header, { secret: OLD }), { timestamp: T });
  assert.equal(
    code(() => verify(header, { secret: 'whsec_other' })),
    'SIGNATURE_MISMATCH',
  );
});

const rejected: [
  name: string,
  header: () => string | null | undefined,
  extra: object,
  expected: string,
][] = [
  [
    'tampered body',
    () => webhookSignatureHeader([SECRET], T, BODY),
    { payload: BODY.replace('e1', 'e2') },
    'SIGNATURE_MISMATCH',
  ],
  [
    'tampered timestamp',
    () => webhookSignatureHeader([SECRET], T, BODY).replace(`t=${T}`, `t=${T + 1}`),
    {},
    'SIGNATURE_MISMATCH',
  ],
  [
    'stale (6 min old)',
    () => webhookSignatureHeader([SECRET], T - 360, BODY),
    {},
    'TIMESTAMP_OUT_OF_TOLERANCE',
  ],
  [
    'from the future (6 min)',
    () => webhookSignatureHeader([SECRET], T + 360, BODY),
    {},
    'TIMESTAMP_OUT_OF_TOLERANCE',
  ],
  ['wrong secret', () => webhookSignatureHeader(['whsec_x'], T, BODY), {}, 'SIGNATURE_MISMATCH'],
  ['missing', () => undefined, {}, 'MISSING_HEADER'],
  ['null', () => null, {}, 'MISSING_HEADER'],
  ['empty', () => '', {}, 'MISSING_HEADER'],
  ['no t', () => `v1=${'a'.repeat(64)}`, {}, 'MALFORMED_HEADER'],
  ['no v1', () => `t=${T}`, {}, 'MALFORMED_HEADER'],
  ['v0 only', () => `t=${T},v0=${'a'.repeat(64)}`, {}, 'MALFORMED_HEADER'],
  ['negative t', () => `t=-${T},v1=${'a'.repeat(64)}`, {}, 'MALFORMED_HEADER'],
  ['non-finite t', () => `t=Infinity,v1=${'a'.repeat(64)}`, {}, 'MALFORMED_HEADER'],
  ['NUL inside', () => `t=${T}\u0000,v1=${'a'.repeat(64)}`, {}, 'MALFORMED_HEADER'],
  ['non-ASCII', () => `t=${T},v1=${'é'.repeat(64)}`, {}, 'MALFORMED_HEADER'],
  ['huge', () => `t=${T},${'v1=x,'.repeat(5000)}`, {}, 'MALFORMED_HEADER'],
  ['short signature', () => `t=${T},v1=abcd`, {}, 'MALFORMED_HEADER'],
];

for (const [name, header, extra, expected] of rejected) {
  test(`rejected: ${name}`, () => {
    assert.equal(
      code(() => verify(header(), extra)),
      expected,
    );
  });
}

test('the tolerance is a setting', () => {
  const header = webhookSignatureHeader([SECRET], T - 360, BODY);
  assert.deepEqual(verify(header, { toleranceSeconds: 600 }), { timestamp: T - 360 });
});
