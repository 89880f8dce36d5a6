// The federation pages in headless Chromium, with axe-core: a group's Hubs, Sharing and
// "What we share" pages, a hub's Groups page and the actor profile page.
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

test('a group joins a hub, chooses what to share, approves a report the hub then holds', async () => {
  mkdirSync(shots, { recursive: true });
  browser ??= await launchBrowser();
  const hub = await startHearth({ hub: true, federate: true });
  running.push(hub);
  const group = await startHearth({ federate: true });
  running.push(group);

  const hctx = await browser.newContext({ bypassCSP: true });
  const hpage = await hctx.newPage();
  await joinFirst(hpage, hub, 'staff');
  await hpage.goto(`${hub.base}/groups`);
  await hpage.getByRole('button', { name: 'Let groups join at once' }).click();

  const gctx = await browser.newContext({ bypassCSP: true });
  const page = await gctx.newPage();
  await joinFirst(page, group, 'fran');
  await page.goto(`${group.base}/hubs`);
  await page.getByLabel('The hub’s address').fill(`${hub.base}/actor`);
  await page.getByRole('button', { name: 'Ask to join' }).click();
  for (let i = 0; i < 100; i++) {
    await page.goto(`${group.base}/hubs`);
    if (/Member/.test(await page.textContent('table'))) break;
    await page.waitForTimeout(100);
  }
  assert.match(await page.textContent('table'), /Member/);
  assert.match(await page.textContent('table'), /off/);

  await page.getByRole('link', { name: /Sharing/ }).click();
  assert.match(await page.textContent('h1'), /Sharing with Test hub/);
  await accessible(page, 'group-sharing');
  await page.getByLabel('Yes: make a report after each period that closes from now on').check();
  await page.getByLabel('Strong privacy', { exact: true }).check();
  await page.getByRole('button', { name: 'Save sharing settings' }).click();
  assert.match(await page.textContent('[role=status]'), /sharing settings are saved/);
  assert.ok(await page.getByLabel('Strong privacy', { exact: true }).isChecked());

  execFileSync('python3', [join(here, 'seed_report.py'), group.database, group.base, `${hub.base}/actor`]);
  await page.getByRole('link', { name: 'What we share' }).click();
  assert.match(await page.textContent('main'), /Waiting for a facilitator’s approval/);
  assert.match(await page.textContent('main'), /"respondents":14/);
  await accessible(page, 'group-shared-awaiting');
  await page.getByRole('button', { name: /Approve and send/ }).click();
  assert.match(await page.textContent('[role=status]'), /approved and on its way/);
  for (let i = 0; i < 100; i++) {
    await page.goto(`${group.base}/shared`);
    if (/Sent and delivered/.test(await page.textContent('main'))) break;
    await page.waitForTimeout(100);
  }
  assert.match(await page.textContent('main'), /Sent and delivered/);
  await accessible(page, 'group-shared-sent');

  await hpage.goto(`${hub.base}/groups`);
  assert.match(await hpage.textContent('main'), /1 report, the last on/);
  await accessible(hpage, 'hub-groups-with-report');
  await page.goto(`${group.base}/account`);
  assert.match(await page.textContent('main'), /Test hub: ρ = 0\.083 of 1\.000 used/);
  await gctx.close();
  await hctx.close();
});
