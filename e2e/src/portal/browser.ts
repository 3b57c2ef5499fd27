import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';

/** Debian's chromium package (infra/local/deps.sh installs it); no browser is downloaded. */
export const CHROMIUM = '/usr/bin/chromium';
/** Where the browser tests write a screenshot of each page (gitignored; README links it). */
export const SCREENSHOTS = resolve(__dirname, '../../../../services/portal/screenshots');

/**
 * Headless Chromium for the portal's browser tests: loopback only (every request to another
 * host is aborted and recorded, so a test can assert there were none), bounded timeouts.
 * `--no-sandbox` only when running as root, where Chromium's sandbox refuses to start.
 */
export class PortalBrowser {
  private browser: Browser | undefined;
  /** Requests the page tried to make to anything but 127.0.0.1 (aborted). */
  readonly external: string[] = [];

  async launch(): Promise<void> {
    const args = [
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--no-default-browser-check',
    ];
    if (process.getuid?.() === 0) args.push('--no-sandbox');
    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args,
      timeout: 60_000,
    });
  }

  /** A fresh context (its own cookies) at a viewport; loopback only. */
  async context(viewport = { width: 1280, height: 900 }): Promise<BrowserContext> {
    if (this.browser === undefined) throw new Error('PortalBrowser: launch() first');
    const context = await this.browser.newContext({
      viewport,
      acceptDownloads: true,
      locale: 'en-GB',
      reducedMotion: 'reduce',
    });
    context.setDefaultTimeout(15_000);
    context.setDefaultNavigationTimeout(30_000);
    await context.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      if (url.protocol === 'blob:' || url.protocol === 'data:' || url.hostname === '127.0.0.1') {
        await route.continue();
      } else {
        this.external.push(route.request().url());
        await route.abort('blockedbyclient');
      }
    });
    return context;
  }

  async close(): Promise<void> {
    await this.browser?.close();
  }
}

/** axe-core's serious and critical violations on the page (WCAG 2.1 A and AA rules). */
export async function seriousViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'])
    .analyze();
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
    );
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * What makes the page scroll sideways: the elements reaching past the viewport's right edge
 * (outside any scrolling box of their own); empty when the page fits its width.
 */
export function sidewaysOverflow(page: Page): Promise<string[]> {
  // A string: e2e compiles without the DOM library.
  return page.evaluate<string[]>(`(() => {
    const width = document.documentElement.clientWidth;
    // Try it as a person would: scroll right, see whether the page moved.
    window.scrollTo(10000, window.scrollY);
    const moved = window.scrollX;
    window.scrollTo(0, window.scrollY);
    const wide = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
    if (moved === 0 && wide <= width + 1) return [];
    const scrolls = (e) => e.parentElement && (getComputedStyle(e.parentElement).overflowX !== 'visible' || scrolls(e.parentElement));
    return [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > width + 1 && !scrolls(e))
      .slice(0, 8)
      .concat(['scrollX=' + moved + ' scrollWidth=' + wide + ' viewport=' + width])
      .map((e) => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).replace(/ /g, '.') : '') + ' right=' + Math.round(e.getBoundingClientRect().right));
  })()`);
}
