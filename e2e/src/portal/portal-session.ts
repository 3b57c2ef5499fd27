import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type Page } from 'playwright-core';
import { PortalBrowser, seriousViolations } from './browser';
import { type Tenant, PortalWorld } from './portal-world';

/**
 * What the tenant portal's browser spec files (e2e/test/portal-browser-*.int.spec.ts) share: each
 * file its own world (PortalWorld: the real billing API and rating over rated ledger data) and its
 * own headless Chromium, a page in a fresh context, and the helpers the pages are checked with.
 * `apiJson` and `signIn` are bound, so a spec can take them out with `world` and `browser`.
 */
export class PortalSession {
  readonly world = new PortalWorld();
  readonly browser = new PortalBrowser();

  /** The world (its data rated up to now) and the browser. */
  async start(): Promise<void> {
    await this.world.start(Date.now());
    await this.browser.launch();
  }

  /** A page in a fresh desktop-sized context; signed in with tenant A's key if asked. */
  async page(signedIn: boolean): Promise<Page> {
    const context = await this.browser.context();
    const page = await context.newPage();
    if (signedIn) await this.signIn(page, this.world.a.key);
    return page;
  }

  async stop(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    await this.world.stop();
  }

  /** The tenant's JSON from the billing API with its bearer key. */
  readonly apiJson = async <T>(path: string, tenant: Tenant = this.world.a): Promise<T> => {
    const answer = await this.world.request('GET', path, tenant.key);
    assert.equal(answer.status, 200, `${path}: ${answer.text}`);
    return JSON.parse(answer.text) as T;
  };

  readonly signIn = async (p: Page, key: string): Promise<void> => {
    await p.goto(this.world.url);
    await p.getByLabel('API key').fill(key);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { level: 1, name: /^Overview/ }).waitFor();
  };
}

export const money = (amount: string): string =>
  new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'EUR' }).format(
    amount as Intl.StringNumericLiteral,
  );

/** A fetch made by the page itself (its cookie, no bearer key): status and body. */
export function pageFetch(
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

/** Follows a link of the portal's navigation and waits for the page's heading. */
export async function go(p: Page, link: string, heading: RegExp): Promise<void> {
  await p.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name: link }).click();
  await p.getByRole('heading', { level: 1, name: heading }).waitFor();
}

export async function axe(p: Page, name: string): Promise<void> {
  assert.deepEqual(await seriousViolations(p), [], `axe-core on ${name}`);
}

/** The usage table's cells as shown. */
export function tableCells(p: Page): Promise<string[][]> {
  return p.evaluate<string[][]>(
    "[...document.querySelectorAll('table.usage-table tbody tr')].map((r) => [...r.cells].map((c) => c.textContent))",
  );
}

export async function download(p: Page, click: () => Promise<void>): Promise<Buffer> {
  const [file] = await Promise.all([p.waitForEvent('download'), click()]);
  const path = await file.path();
  return readFileSync(path);
}
