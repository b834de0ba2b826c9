/**
 * End to end: the HTML report of the real-run fixture opened from disk in headless Chromium
 * (Debian's /usr/bin/chromium, driven by playwright-core). No console errors, no request for
 * anything but the file itself and data: URLs, the charts and tables visible, the text set in
 * DejaVu Sans; a full-page screenshot goes to reports/e2e/ (ignored by git) for a person to look at.
 *
 * Without /usr/bin/chromium this test fails with the reason (CI installs the chromium package).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { renderReport } from '../src/report/hook.js';
import { FIXTURE, ROOT } from './fixtures/report-helpers.js';

const CHROMIUM = process.env.PFC_BENCH_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

test('the HTML report opens offline in headless Chromium: no errors, no network, charts and tables visible', async (t) => {
  if (!existsSync(CHROMIUM)) {
    assert.fail(`headless Chromium is needed for this test and ${CHROMIUM} does not exist: install Debian's 'chromium' package (apt-get install chromium), or set PFC_BENCH_CHROMIUM to a Chromium binary`);
  }
  const outDir = join(ROOT, 'reports', 'e2e');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const report = await renderReport([FIXTURE], { outDir, formats: ['html'] });
  const url = pathToFileURL(report.html!).href;

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60_000 });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const consoleErrors: string[] = [];
  const network: string[] = [];
  const failed: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') consoleErrors.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => consoleErrors.push(`page error: ${error.message}`));
  page.on('request', (request) => {
    if (!/^(file|data):/.test(request.url())) network.push(`${request.method()} ${request.url()}`);
  });
  page.on('requestfailed', (request) => failed.push(request.url()));

  const response = await page.goto(url, { waitUntil: 'load' });
  assert.ok(response === null || response.ok(), 'the page did not load');
  await page.evaluate(() => document.fonts.ready);

  assert.deepEqual(network, [], 'the page asked for something over the network');
  assert.deepEqual(failed, [], 'a request of the page failed');
  assert.deepEqual(consoleErrors, [], 'the page logged errors or warnings');

  // Charts: one figure per chart, each SVG laid out at a readable size with its text.
  const figures = page.locator('figure.chart-figure');
  assert.equal(await figures.count(), 4);
  for (const name of ['seed', 'sweep', 'phases', 'memory']) {
    const svg = page.locator(`#figure-${name} svg`);
    assert.ok(await svg.isVisible(), `chart ${name} is not visible`);
    const box = await svg.boundingBox();
    assert.ok(box && box.width > 300 && box.height > 150, `chart ${name} is ${box?.width}x${box?.height}`);
    assert.ok((await page.locator(`#figure-${name} svg text`).count()) > 10, `chart ${name} has no text`);
  }
  // The embedded font is the one in use (DejaVu Sans from a data: URL, not a system fallback).
  assert.equal(await page.evaluate(() => document.fonts.check('12px "DejaVu Sans"')), true);
  const loaded = await page.evaluate(() => [...document.fonts].filter((f) => f.status === 'loaded').map((f) => f.family.replace(/"/g, '')));
  assert.ok(loaded.includes('DejaVu Sans'), `fonts loaded: ${loaded.join(', ')}`);

  // Tables: the seed layout with its ratio rows, every cell, and the failed cell with its error.
  assert.ok(await page.locator('#summary table.seed').first().isVisible());
  assert.equal(await page.locator('#summary table.seed').count(), 2);
  assert.equal(await page.locator('#summary tr.ratio').count(), 2);
  assert.equal(await page.locator('#cells table.cells tbody tr').count(), 11);
  assert.ok(await page.locator('#cells tr[data-status="oom"]').isVisible());
  const failure = page.locator('#failed .failed-cell[data-status="oom"] pre');
  assert.ok(await failure.isVisible());
  assert.match((await failure.textContent()) ?? '', /out of memory/);
  assert.ok(await page.locator('#context table.kv').first().isVisible());
  // Nothing wider than the page but the charts' own scroll boxes.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);

  const screenshot = join(outDir, 'report-e2e.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  assert.ok(existsSync(screenshot));
  process.stderr.write(`screenshot: ${screenshot}\n`);
});
