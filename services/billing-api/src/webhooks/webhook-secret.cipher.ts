import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Webhook secrets at rest: AES-256-GCM under WEBHOOK_SECRET_KEY, the endpoint id as associated
 * data (a ciphertext copied onto another endpoint's row does not decrypt). Encrypted rather than
 * hashed because billing-api needs the secret itself to sign every delivery; it is shown to the
 * caller once, when created or rotated, and never returned again.
 * Layout: 12-byte nonce, 16-byte tag, ciphertext.
 */
export class WebhookSecretCipher {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new RangeError('the webhook secret key must be 32 bytes');
  }

  static newSecret(): string {
    return `whsec_${randomBytes(32).toString('base64url')}`;
  }

  encrypt(secret: string, endpointId: string): Buffer {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(endpointId, 'utf8'));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return Buffer.concat([nonce, cipher.getAuthTag(), body]);
  }

  /** Throws when the key is not the one that encrypted it, or the bytes were altered. */
  decrypt(blob: Buffer, endpointId: string): string {
    const decipher = createDecipheriv('aes-256-gcm', this.key, blob.subarray(0, 12));
    decipher.setAAD(Buffer.from(endpointId, 'utf8'));
    decipher.setAuthTag(blob.subarray(12, 28));
    return Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]).toString('utf8');
  }
}
