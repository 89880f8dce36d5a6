// The federation pages in headless Chromium, with axe-core: a group's Hubs page, a hub's
// Groups page and the actor profile page.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHearth, launchBrowser, seriousViolations } from './harness.mjs';

const shots = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
const running = [];
let browser;

after(async () => {
  await browser?.close();
  for (const h of running) await h.stop();
});

async function accessible(page, name) {
  const violations = await seriousViolations(page);
  await page.screenshot({ path: join(shots, `federation-${name}.png`), fullPage: true });
  assert.deepEqual(violations, [], `${name}: ${JSON.stringify(violations, null, 2)}`);
}

async function joinFirst(page, hearth, username) {
  await page.goto(hearth.setupLink);
  await page.getByLabel('Your name, as the group knows you').fill('Staff');
  await page.getByLabel('Choose a username for signing in').fill(username);
  await page.getByLabel('Choose a password').fill('a long enough password');
  await page.getByLabel('Type the password again').fill('a long enough password');
  await page.getByRole('button', { name: 'Join the group' }).click();
  await page.waitForURL(`${hearth.base}/`);
}

test('hub and group federation pages work and pass axe', async () => {
  mkdirSync(shots, { recursive: true });
  browser = await launchBrowser();
  const hub = await startHearth({ hub: true });
  running.push(hub);
  const group = await startHearth();
  running.push(group);

  const ctx = await browser.newContext({ bypassCSP: true });
  const page = await ctx.newPage();
  await joinFirst(page, hub, 'staff');
  assert.match(await page.textContent('main'), /network hub/);
  await accessible(page, 'hub-home');
  await page.getByRole('link', { name: 'Groups' }).first().click();
  assert.match(await page.textContent('main'), /No requests are waiting/);
  await accessible(page, 'hub-groups');
  await page.getByRole('button', { name: 'Let groups join at once' }).click();
  assert.match(await page.textContent('main'), /lets groups join at once/);
  await page.goto(`${hub.base}/actor`);
  assert.match(await page.textContent('main'), /network hub/);
  await accessible(page, 'hub-actor');
  await ctx.close();

  const gctx = await browser.newContext({ bypassCSP: true });
  const gpage = await gctx.newPage();
  await joinFirst(gpage, group, 'fran');
  await gpage.getByRole('link', { name: 'Hubs' }).click();
  assert.match(await gpage.textContent('main'), /has not joined any hub/);
  await accessible(gpage, 'group-hubs');
  await gpage.getByLabel('The hub’s address').fill('not an address');
  await gpage.getByRole('button', { name: 'Ask to join' }).click();
  assert.match(await gpage.textContent('.error-summary'), /Enter the hub’s address/);
  await accessible(gpage, 'group-hubs-error');
  await gpage.goto(`${group.base}/actor`);
  await accessible(gpage, 'group-actor');
  await gctx.close();
});
