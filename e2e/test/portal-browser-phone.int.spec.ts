import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { screenshot, sidewaysOverflow } from '../src/portal/browser';
import { PortalSession, go, axe } from '../src/portal/portal-session';

// The tenant portal in a real browser at a phone's width (360 px): no page scrolls sideways,
// axe-core finds nothing serious; screenshots phone-*.png. Each portal-browser-* spec file has its
// own world and Chromium (PortalSession, e2e/src/portal/portal-session.ts).

const portal = new PortalSession();
const { world, browser, signIn } = portal;

describe('tenant portal in Chromium at a phone’s width', { timeout: 600_000 }, () => {
  before(async () => {
    await portal.start();
  });

  after(() => portal.stop());

  test('at a phone’s width (360 px) no page scrolls sideways', async () => {
    const phone = await browser.context({ width: 360, height: 740 });
    try {
      const p = await phone.newPage();
      await p.goto(world.url);
      await p.getByLabel('API key').waitFor();
      assert.deepEqual(await sidewaysOverflow(p), [], 'sign-in');
      await screenshot(p, 'phone-sign-in');
      await signIn(p, world.a.key);
      await p.getByTestId('mtd-amount').waitFor();
      for (const [link, heading, name, ready] of [
        ['Overview', /^Overview/, 'overview', '[data-testid=mtd-amount]'],
        ['Usage', /^Usage$/, 'usage', 'table.usage-table tbody tr'],
        ['Invoices', /^Invoices$/, 'invoices', 'tbody tr'],
        ['API keys', /^API keys$/, 'api-keys', 'tbody tr'],
      ] as const) {
        await go(p, link, heading);
        await p.locator(ready).first().waitFor();
        await p.waitForLoadState('networkidle');
        assert.deepEqual(await sidewaysOverflow(p), [], name);
        await axe(p, `phone ${name}`);
        await screenshot(p, `phone-${name}`);
      }
      await p.goto(`${world.url}#/invoices/${world.lastPeriod}`);
      await p.locator('table.usage-table tbody tr').first().waitFor();
      await p.waitForLoadState('networkidle');
      assert.deepEqual(await sidewaysOverflow(p), [], 'invoice');
      await screenshot(p, 'phone-invoice');
    } finally {
      await phone.close();
    }
  });

  test('the portal made no request beyond 127.0.0.1', () => {
    assert.deepEqual(browser.external, []);
  });
});
