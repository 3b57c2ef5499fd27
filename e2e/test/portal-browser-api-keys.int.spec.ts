import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Page } from 'playwright-core';
import { screenshot } from '../src/portal/browser';
import { PortalSession, pageFetch, go, axe } from '../src/portal/portal-session';

// The tenant portal in a real browser: a signed-in page reaches no other tenant's data by its ids
// and writes nothing without the CSRF token; the API keys page shows a new key once and asks
// before revoking. Each portal-browser-* spec file has its own world and Chromium (PortalSession,
// e2e/src/portal/portal-session.ts).

const portal = new PortalSession();
const { world, browser } = portal;
let page: Page;

describe('tenant portal in Chromium: API keys and other tenants', { timeout: 600_000 }, () => {
  before(async () => {
    await portal.start();
    page = await portal.page(true);
  });

  after(() => portal.stop());

  test('another tenant’s ids in a URL are refused like unknown ones', async () => {
    const b = world.b.id;
    for (const path of [
      `/v1/tenants/${b}`,
      `/v1/tenants/${b}/invoices`,
      `/v1/tenants/${b}/invoices/${world.lastPeriod}?format=pdf`,
      `/v1/tenants/${b}/overview`,
      `/v1/tenants/${b}/usage?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z`,
    ]) {
      const r = await pageFetch(page, path);
      assert.equal(r.status, 404, path);
      assert.equal((JSON.parse(r.body) as { code: string }).code, 'TENANT_NOT_FOUND', path);
      assert.ok(!r.body.includes('b-secret-1'));
    }
    const unknown = await pageFetch(page, `/v1/tenants/${b}-unknown`);
    assert.equal(unknown.status, 404);
    // The list of keys holds only the tenant's own.
    const keys = await pageFetch(page, `/v1/api-keys?tenantId=${b}`);
    assert.ok(keys.status === 200 || keys.status === 404, keys.body);
    if (keys.status === 200) {
      assert.deepEqual((JSON.parse(keys.body) as { data: unknown[] }).data, []);
    }
  });

  test('API keys: a write without the CSRF token is refused; create shows the key once; revoke asks first', async () => {
    await go(page, 'API keys', /^API keys$/);
    await page.getByRole('region', { name: 'API keys' }).waitFor();
    const before = await page.getByRole('region', { name: 'API keys' }).locator('tbody tr').count();
    for (const headers of [{}, { 'X-CSRF-Token': 'forged' }] as Record<string, string>[]) {
      const r = await pageFetch(page, `/v1/tenants/${world.a.id}/api-keys`, {
        method: 'POST',
        headers,
      });
      assert.equal(r.status, 403, r.body);
      assert.equal((JSON.parse(r.body) as { code: string }).code, 'CSRF_TOKEN_INVALID');
    }
    await axe(page, 'api-keys');
    // The key this session was opened with is marked, and revoking it says the session ends too.
    const ownId = /^mk_([^_]+)_/.exec(world.a.key)?.[1] ?? '';
    const marked = page.getByTestId('session-key');
    assert.equal(await marked.count(), 1);
    assert.match(
      (await marked.locator('xpath=ancestor::tr').textContent()) ?? '',
      new RegExp(ownId),
    );
    await page.getByRole('button', { name: `Revoke key ${ownId}` }).click();
    await page.getByText('this session ends too').waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();

    await page.getByRole('button', { name: 'Create API key' }).click();
    const key = await page.getByTestId('new-key').inputValue();
    assert.match(key, /^mk_/);
    assert.equal((await world.request('GET', `/v1/tenants/${world.a.id}`, key)).status, 200);
    const rows = page.getByRole('region', { name: 'API keys' }).locator('tbody tr');
    // Locators, not waitForFunction: the page's CSP (script-src 'self') refuses eval.
    await rows.nth(before).waitFor();
    await screenshot(page, 'api-keys');
    const keyId = /^mk_([^_]+)_/.exec(key)?.[1] ?? '';
    await page.getByRole('button', { name: 'I have stored it' }).click();
    assert.equal(await page.getByTestId('new-key').count(), 0, 'shown once');
    await page.getByRole('button', { name: `Revoke key ${keyId}` }).click();
    await page.getByRole('button', { name: `Yes, revoke ${keyId}` }).click();
    await page.getByText(`Key ${keyId} is revoked`).waitFor();
    // The notice comes with the list's reload: wait for the list as reloaded.
    await rows.nth(before - 1).waitFor();
    assert.equal(await rows.count(), before);
    assert.ok(!(await rows.allTextContents()).join(' ').includes(keyId));
    assert.equal((await world.request('GET', `/v1/tenants/${world.a.id}`, key)).status, 401);
  });

  test('the portal made no request beyond 127.0.0.1', () => {
    assert.deepEqual(browser.external, []);
  });
});
