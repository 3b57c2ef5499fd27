import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Page } from 'playwright-core';
import { screenshot } from '../src/portal/browser';
import { PortalSession, pageFetch, go, axe } from '../src/portal/portal-session';

// The tenant portal in a real browser: signing in (a wrong key, the keyboard alone), a session
// that expired, signing out, and the read-only view an admin link opens. Each portal-browser-*
// spec file has its own world and Chromium (PortalSession, e2e/src/portal/portal-session.ts).

const portal = new PortalSession();
const { world, browser, signIn } = portal;
let page: Page;

describe('tenant portal in Chromium: sign-in and sessions', { timeout: 600_000 }, () => {
  before(async () => {
    await portal.start();
    page = await portal.page(false);
  });

  after(() => portal.stop());

  test('sign-in: a wrong key is refused with advice; the keyboard alone signs in', async () => {
    await page.goto(world.url);
    await page.getByRole('heading', { level: 1, name: 'Tenant portal' }).waitFor();
    await axe(page, 'sign-in');
    await screenshot(page, 'sign-in');
    await page.getByLabel('API key').fill('mk_nope_0000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'was not accepted' }).waitFor();

    await page.getByLabel('API key').fill('');
    await page.getByLabel('API key').focus();
    await page.keyboard.type(world.a.key);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: /^Overview/ }).waitFor();
    await page.getByText(world.a.name).first().waitFor();
    // Keyboard: tab to the navigation, open Usage with Enter; its heading takes the focus.
    const focused = (): Promise<string> =>
      page.evaluate<string>(
        "document.activeElement?.closest('nav') ? document.activeElement.textContent : ''",
      );
    for (let i = 0; i < 12 && (await focused()) !== 'Usage'; i++) {
      await page.keyboard.press('Tab');
    }
    assert.equal(await focused(), 'Usage', 'Tab reaches the navigation');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Usage' }).waitFor();
    assert.equal(await page.evaluate<string>('document.activeElement?.textContent ?? ""'), 'Usage');
  });

  test('a session that expired sends the page back to sign-in, saying why', async () => {
    assert.ok((await world.ageSessions(world.a.id)) >= 1);
    await go(page, 'Overview', /Tenant portal|^Overview/).catch(() => undefined);
    await page.getByText('Your session has ended').waitFor();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    assert.equal((await pageFetch(page, '/v1/portal/session')).status, 401);
  });

  test('sign out ends the session', async () => {
    await signIn(page, world.a.key);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You are signed out.').waitFor();
    assert.equal((await pageFetch(page, '/v1/portal/session')).status, 401);
  });

  test('an admin link opens the portal read-only and leaves no token in the address bar', async () => {
    const link = await world.pipeline.api<{ url: string }>(
      'POST',
      `/v1/tenants/${world.a.id}/portal-links`,
    );
    const admin = await browser.context();
    try {
      const p = await admin.newPage();
      await p.goto(`${world.pipeline.billingUrl}${link.url}`);
      await p.getByRole('heading', { level: 1, name: /^Overview/ }).waitFor();
      assert.ok(!p.url().includes('link='), p.url());
      await p.getByText('Read-only view opened by your provider').waitFor();
      await go(p, 'API keys', /^API keys$/);
      assert.equal(await p.getByRole('button', { name: 'Create API key' }).count(), 0);
      const r = await pageFetch(p, `/v1/tenants/${world.a.id}/api-keys`, { method: 'POST' });
      assert.equal(r.status, 403);
    } finally {
      await admin.close();
    }
  });

  test('the portal made no request beyond 127.0.0.1', () => {
    assert.deepEqual(browser.external, []);
  });
});
