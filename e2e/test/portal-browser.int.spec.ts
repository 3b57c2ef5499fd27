import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type BrowserContext, type Page } from 'playwright-core';
import {
  PortalBrowser,
  screenshot,
  sidewaysOverflow,
  seriousViolations,
} from '../src/portal/browser';
import { type Tenant, PortalWorld } from '../src/portal/portal-world';

// The tenant portal in a real browser (Debian's chromium through playwright-core) against the
// real billing API and rating, over ledger data that rating rated from signed samples
// (PortalWorld). Each page is checked against the API's own answers, for accessibility (axe-core)
// and at a phone's width; screenshots go to services/portal/screenshots/.

const world = new PortalWorld();
const browser = new PortalBrowser();
let context: BrowserContext;
let page: Page;

const money = (amount: string): string =>
  new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'EUR' }).format(
    amount as Intl.StringNumericLiteral,
  );

/** The tenant's JSON from the billing API with its bearer key. */
async function apiJson<T>(path: string, tenant: Tenant = world.a): Promise<T> {
  const answer = await world.request('GET', path, tenant.key);
  assert.equal(answer.status, 200, `${path}: ${answer.text}`);
  return JSON.parse(answer.text) as T;
}

/** A fetch made by the page itself (its cookie, no bearer key): status and body. */
function pageFetch(
  p: Page,
  path: string,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string }> {
  return p.evaluate(
    async ([url, options]) => {
      const r = await fetch(url, { ...options, credentials: 'same-origin' });
      return { status: r.status, body: await r.text() };
    },
    [path, init] as const,
  );
}

async function signIn(p: Page, key: string): Promise<void> {
  await p.goto(world.url);
  await p.getByLabel('API key').fill(key);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('heading', { level: 1, name: /^Overview/ }).waitFor();
}

async function go(p: Page, link: string, heading: RegExp): Promise<void> {
  await p.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name: link }).click();
  await p.getByRole('heading', { level: 1, name: heading }).waitFor();
}

async function axe(p: Page, name: string): Promise<void> {
  assert.deepEqual(await seriousViolations(p), [], `axe-core on ${name}`);
}

/** The usage table's cells as shown. */
function tableCells(p: Page): Promise<string[][]> {
  return p.evaluate<string[][]>(
    "[...document.querySelectorAll('table.usage-table tbody tr')].map((r) => [...r.cells].map((c) => c.textContent))",
  );
}

async function download(p: Page, click: () => Promise<void>): Promise<Buffer> {
  const [file] = await Promise.all([p.waitForEvent('download'), click()]);
  const path = await file.path();
  return readFileSync(path);
}

describe('tenant portal in Chromium', { timeout: 600_000 }, () => {
  before(async () => {
    await world.start(Date.now());
    await browser.launch();
    context = await browser.context();
    page = await context.newPage();
  });

  after(async () => {
    await browser.close().catch(() => undefined);
    await world.stop();
  });

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

  test('overview: month to date, last month, the draft lines and the forecast as the API says', async () => {
    await go(page, 'Overview', /^Overview/);
    await page.getByTestId('mtd-amount').waitFor();
    const o = await apiJson<{
      monthToDate: { amount: string; cpuCoreHours: string; memoryGibHours: string };
      invoice: { lines: unknown[]; total: string };
      completeness: { ratio: string | null };
    }>(`/v1/tenants/${world.a.id}/overview`);
    assert.equal(await page.getByTestId('mtd-amount').textContent(), money(o.monthToDate.amount));
    assert.ok(Number(o.monthToDate.amount) > 0, 'the month so far has charges');
    assert.equal(
      await page.getByTestId('mtd-cpu').textContent(),
      Number(o.monthToDate.cpuCoreHours).toFixed(2),
    );
    assert.equal(
      await page.getByTestId('mtd-memory').textContent(),
      Number(o.monthToDate.memoryGibHours).toFixed(2),
    );
    assert.equal(await page.getByTestId('draft-total').textContent(), money(o.invoice.total));
    const lines = page.getByRole('region', { name: 'Draft invoice lines' }).locator('tbody tr');
    assert.equal(await lines.count(), o.invoice.lines.length);
    assert.match(
      (await page
        .getByText(/last month at the same point/)
        .first()
        .textContent()) ?? '',
      /against|same as|new since/,
    );
    // The forecast is labelled as one.
    assert.match(
      (await page.getByRole('heading', { name: /Forecast/ }).textContent()) ?? '',
      /Forecast/,
    );
    assert.match((await page.getByTestId('completeness').textContent()) ?? '', /%|not known/);
    await axe(page, 'overview');
    await screenshot(page, 'overview');

    // The draft behind the figures: its page shows the same total and this month's daily usage.
    await page.getByRole('link', { name: 'open the invoice' }).click();
    await page.getByRole('heading', { level: 1, name: /^Invoice / }).waitFor();
    await page.locator('table.usage-table tbody tr').first().waitFor();
    assert.equal(await page.getByTestId('invoice-total').textContent(), money(o.invoice.total));
    assert.match((await page.locator('.badge').first().textContent()) ?? '', /draft/);
  });

  test('budget thresholds: added in the page, shown as the API lists them, removed; a bad amount says which field', async () => {
    await go(page, 'Overview', /^Overview/);
    const form = page.getByLabel(/^New threshold/);
    await form.fill('1e3');
    await page.getByRole('button', { name: 'Add threshold' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? '', /amount/i);
    await form.fill('123456.7');
    await page.getByRole('button', { name: 'Add threshold' }).click();
    await page.getByTestId('budgets').waitFor();
    const listed = await apiJson<{
      data: { id: string; amount: string; createdBy: string; reachedAt: string | null }[];
    }>(`/v1/tenants/${world.a.id}/budget-thresholds`);
    assert.deepEqual(
      listed.data.map((t) => [t.amount, t.createdBy, t.reachedAt]),
      [['123456.70', 'tenant', null]],
    );
    const row = page.getByTestId('budgets').locator('tbody tr');
    assert.equal(await row.count(), 1);
    assert.match((await row.textContent()) ?? '', /123,456\.70.*not reached.*you/);
    await axe(page, 'overview with a budget threshold');
    await page.getByRole('button', { name: /^Remove the threshold of/ }).click();
    await page.getByTestId('no-budgets').waitFor();
    const after = await apiJson<{ data: unknown[] }>(`/v1/tenants/${world.a.id}/budget-thresholds`);
    assert.deepEqual(after.data, []);
  });

  test('usage: the API’s figures by resource, in the tenant’s zone; filter, sort and CSV of what is shown', async () => {
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().includes(`/v1/tenants/${world.a.id}/usage?`)),
      go(page, 'Usage', /^Usage$/),
    ]);
    const shown = (await response.json()) as {
      items: { cpuCoreSeconds: string; resourceId: string; completeness: string | null }[];
      timeZone: string;
    };
    // The page asked for what the API answers to the tenant's own key.
    const url = new URL(response.url());
    const fromApi = await apiJson<typeof shown>(url.pathname + url.search);
    assert.deepEqual(shown, fromApi);
    assert.equal(shown.timeZone, 'Europe/Berlin');
    assert.equal(await page.getByTestId('time-zone').textContent(), 'Europe/Berlin');
    assert.ok(shown.items.length > 0);

    const cells = await tableCells(page);
    assert.equal(cells.length, shown.items.length);
    const names = new Set(cells.map((c) => c[1]));
    assert.deepEqual([...names].sort(), ['build-vm', 'db-1', 'web-1']);
    const hosts = new Set(cells.map((c) => c[3]));
    assert.deepEqual([...hosts].sort(), ['node-a', 'node-b']);
    const totalCpu = shown.items.reduce((s, i) => s + Number(i.cpuCoreSeconds), 0) / 3600;
    const shownCpu = cells.reduce((s, c) => s + Number(c[4]), 0);
    assert.ok(Math.abs(totalCpu - shownCpu) < 0.001 * cells.length, `${totalCpu} vs ${shownCpu}`);
    // Each row's completeness is the API's, as a percentage (docs/product.md, "Completeness").
    assert.deepEqual(
      cells.map((c) => c[6]).sort(),
      shown.items
        .map((i) =>
          i.completeness === null ? '—' : `${(Number(i.completeness) * 100).toFixed(2)} %`,
        )
        .sort(),
    );
    assert.equal(await page.locator('canvas').count(), 2, 'a chart per meter');
    await axe(page, 'usage');
    await screenshot(page, 'usage');

    // Filter and sort, then the CSV holds exactly the rows and values shown.
    await page.getByLabel('Filter by resource, kind or host').fill('web');
    await page.getByRole('button', { name: /^CPU core-hours/ }).click();
    const filtered = await tableCells(page);
    assert.ok(filtered.length > 0 && filtered.every((c) => c[1] === 'web-1'));
    const cpuColumn = filtered.map((c) => Number(c[4]));
    assert.deepEqual(
      cpuColumn,
      [...cpuColumn].sort((x, y) => y - x),
      'sorted by CPU, largest first',
    );
    const csv = (
      await download(page, () => page.getByRole('button', { name: /^Download CSV/ }).click())
    ).toString('utf8');
    const rows = csv
      .trimEnd()
      .split('\r\n')
      .map((l) => l.split(','));
    assert.deepEqual(rows[0], [
      'start (Europe/Berlin)',
      'resource',
      'resource_id',
      'kind',
      'host',
      'cpu_core_hours',
      'memory_gib_hours',
      'completeness',
    ]);
    assert.deepEqual(
      rows.slice(1).map((r) => [r[0], r[1], r[3], r[4], r[5], r[6], r[7]]),
      filtered,
    );
  });

  test('invoices: the list and the final invoice as the API has them; downloads are the API’s bytes', async () => {
    await go(page, 'Invoices', /^Invoices$/);
    const list = await apiJson<{
      data: { period: string; status: string; number: string | null; total: string | null }[];
    }>(`/v1/tenants/${world.a.id}/invoices`);
    const final = list.data.find((i) => i.period === world.lastPeriod);
    assert.ok(
      final?.status === 'final' && final.number !== null && final.total !== null,
      JSON.stringify(list),
    );
    const row = page.locator('tbody tr').filter({ hasText: final.number });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /final/);
    assert.equal(await row.locator('td.num').textContent(), money(final.total));
    assert.equal(await page.locator('tbody tr').count(), list.data.length);
    await axe(page, 'invoices');
    await screenshot(page, 'invoices');

    await row.getByRole('link').click();
    await page.getByRole('heading', { level: 1, name: /^Invoice / }).waitFor();
    await page.getByTestId('invoice-total').waitFor();
    const invoice = await apiJson<{ total: string; lines: unknown[]; resources: unknown[] }>(
      `/v1/tenants/${world.a.id}/invoices/${world.lastPeriod}`,
    );
    assert.equal(await page.getByTestId('invoice-total').textContent(), money(invoice.total));
    assert.equal(
      await page.getByRole('region', { name: 'Invoice lines' }).locator('tbody tr').count(),
      invoice.lines.length,
    );
    assert.equal(
      await page.getByRole('region', { name: 'Usage by resource' }).locator('tbody tr').count(),
      invoice.resources.length,
    );
    // The daily usage behind it: one row per day and resource of the month.
    await page.locator('table.usage-table tbody tr').first().waitFor();
    assert.ok((await tableCells(page)).length >= 28 * 3 - 3);
    await axe(page, 'invoice');
    await screenshot(page, 'invoice');

    for (const format of ['pdf', 'csv', 'json'] as const) {
      const got = await download(page, () =>
        page.getByRole('link', { name: format.toUpperCase(), exact: true }).click(),
      );
      const api = await world.request(
        'GET',
        `/v1/tenants/${world.a.id}/invoices/${world.lastPeriod}?format=${format}`,
        world.a.key,
      );
      assert.equal(api.status, 200);
      assert.ok(
        got.equals(api.buffer),
        `${format}: the download is the API's document byte for byte`,
      );
    }
  });

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
