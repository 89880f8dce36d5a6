// A hub's sector pages in headless Chromium, with axe-core: the dashboard, a segment, the
// alerts with their evidence, and the public summary.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHearth, launchBrowser, seriousViolations } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const shots = join(here, 'screenshots');
const running = [];
let browser;

after(async () => {
  await browser?.close();
  for (const h of running) await h.stop();
});

async function accessible(page, name) {
  const violations = await seriousViolations(page);
  await page.screenshot({ path: join(shots, `hub-${name}.png`), fullPage: true });
  assert.deepEqual(violations, [], `${name}: ${JSON.stringify(violations, null, 2)}`);
}

test('the sector pages show figures, segments and alerts, and pass axe', async () => {
  mkdirSync(shots, { recursive: true });
  browser = await launchBrowser();
  const hub = await startHearth({ hub: true });
  running.push(hub);
  execFileSync('python3', [join(here, 'seed_sector.py'), hub.database]);

  const ctx = await browser.newContext({ bypassCSP: true });
  const page = await ctx.newPage();
  await page.goto(hub.setupLink);
  await page.getByLabel('Your name, as the group knows you').fill('Staff');
  await page.getByLabel('Choose a username for signing in').fill('staff');
  await page.getByLabel('Choose a password').fill('a long enough password');
  await page.getByLabel('Type the password again').fill('a long enough password');
  await page.getByRole('button', { name: 'Join the group' }).click();
  await page.waitForURL(`${hub.base}/`);

  await page.getByRole('link', { name: 'The sector', exact: true }).click();
  const main = await page.textContent('main');
  assert.match(main, /Alerts/);
  assert.match(main, /Burnout/);
  assert.doesNotMatch(main, /London/, 'two London groups are fewer than 5');
  assert.equal(await page.locator('figure.chart svg path.band').count() > 0, true);
  await accessible(page, 'sector');

  await page.getByRole('link', { name: 'North West (England)' }).click();
  assert.equal(await page.getByRole('heading', { level: 2, name: /North West/ }).count(), 1);
  assert.match(await page.textContent('main'), /rose from/);
  await accessible(page, 'sector-segment');

  await page.goto(`${hub.base}/sector/alerts`);
  assert.match(await page.textContent('main'), /Burnout among North West \(England\), October 2026/);
  await accessible(page, 'alerts');
  await page.getByRole('button', { name: /Acknowledge/ }).first().click();
  assert.match(await page.textContent('main'), /Acknowledged on/);

  await page.goto(`${hub.base}/sector`);
  await page.getByLabel(/On: anyone may read this summary/).check();
  await page.getByRole('button', { name: 'Save' }).click();
  assert.match(await page.textContent('[role=status]'), /sector settings are saved/);

  const anon = await browser.newContext({ bypassCSP: true });
  const pub = await anon.newPage();
  await pub.goto(`${hub.base}/public/sector`);
  assert.match(await pub.textContent('h1'), /how the sector is doing/);
  assert.doesNotMatch(await pub.textContent('main'), /Acknowledge|Alerts/);
  await accessible(pub, 'public-summary');
  await anon.close();
  await ctx.close();
});
