import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Page } from 'playwright-core';
import { screenshot } from '../src/portal/browser';
import { PortalSession, money, go, axe, tableCells, download } from '../src/portal/portal-session';

// The tenant portal in a real browser: the pages with the tenant's figures (overview, budget
// thresholds, usage, invoices), each against the API's own answers, for accessibility (axe-core),
// and the downloads against the API's bytes. Each portal-browser-* spec file has its own world and
// Chromium (PortalSession, e2e/src/portal/portal-session.ts).

const portal = new PortalSession();
const { world, browser, apiJson } = portal;
let page: Page;

describe('tenant portal in Chromium: the figures and documents', { timeout: 600_000 }, () => {
  before(async () => {
    await portal.start();
    page = await portal.page(true);
  });

  after(() => portal.stop());

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

  test('the portal made no request beyond 127.0.0.1', () => {
    assert.deepEqual(browser.external, []);
  });
});
