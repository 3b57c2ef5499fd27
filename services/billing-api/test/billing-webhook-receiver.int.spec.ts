import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { webhookSignatureHeader } from '@metering/contracts';
import { postWebhook, WebhookRequestError } from '../src/webhooks/webhook-http.client';
import { WebhookReceiver } from './webhook-receiver';

/**
 * The receiver helper the docs show (signature and timestamp checks) and the webhook client's
 * address pinning (a host name resolving to loopback), against a real receiver on 127.0.0.1.
 */
const receiver = new WebhookReceiver();

before(() => receiver.start());
after(() => receiver.stop());

describe('the receiver helper and the address pinning', () => {
  test('a tampered or stale delivery is rejected by the receiver the docs show', async () => {
    const secret = 'whsec_receiver_test_0123456789';
    receiver.secrets = [secret];
    const body = JSON.stringify({ eventId: 'x'.repeat(64), type: 'invoice.finalized' });
    const send = (payload: string, signature: string) =>
      fetch(receiver.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'metering-signature': signature },
        body: payload,
      });
    const t = Math.floor(Date.now() / 1000);
    const good = webhookSignatureHeader([secret], t, body);
    const seen = receiver.requests.length;
    assert.equal((await send(body.replace('invoice', 'Invoice'), good)).status, 400);
    assert.equal((await send(body, webhookSignatureHeader([secret], t - 600, body))).status, 400);
    assert.equal(
      (
        await send(
          body,
          good.replace(/v1=(.)/, (_, c: string) => `v1=${c === '0' ? '1' : '0'}`),
        )
      ).status,
      400,
    );
    assert.deepEqual(
      receiver.requests.slice(seen).map((r) => r.reason),
      ['SIGNATURE_MISMATCH', 'TIMESTAMP_OUT_OF_TOLERANCE', 'SIGNATURE_MISMATCH'],
    );
    assert.equal((await send(body, good)).status, 200, 'the untampered one passes');
  });

  test('a host name resolving to loopback is refused unless allowed, checked at request time', async () => {
    const url = receiver.url.replace('127.0.0.1', 'localhost');
    await assert.rejects(
      postWebhook(
        url,
        '{}',
        {},
        { timeoutMs: 1_000, policy: { requireHttps: false, allowedCidrs: [] } },
      ),
      (error: unknown) =>
        error instanceof WebhookRequestError &&
        /refused by the URL policy: .*loopback/.test(error.message),
    );
    const allowed = await postWebhook(
      url,
      '{}',
      {},
      {
        timeoutMs: 1_000,
        policy: {
          requireHttps: false,
          allowedCidrs: [{ address: '127.0.0.1', prefix: 32, family: 'ipv4' }],
        },
      },
    );
    // localhost may resolve to ::1 first: that address is refused, the request pinned to 127.0.0.1.
    assert.equal(allowed.status, 400, 'reached (and refused for its missing signature)');
  });
});
