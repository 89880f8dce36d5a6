// The group's pages in headless Chromium, with axe-core on every page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHearth, launchBrowser, seriousViolations } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const shots = join(here, 'screenshots');
let hearth;
let browser;

before(async () => {
  mkdirSync(shots, { recursive: true });
  hearth = await startHearth();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await hearth?.stop();
});

async function accessible(page, name) {
  const violations = await seriousViolations(page);
  await page.screenshot({ path: join(shots, `group-${name}.png`), fullPage: true });
  assert.deepEqual(violations, [], `${name}: ${JSON.stringify(violations, null, 2)}`);
}

async function join_(page, link, name, username) {
  await page.goto(link);
  await page.getByLabel('Your name, as the group knows you').fill(name);
  await page.getByLabel('Choose a username for signing in').fill(username);
  await page.getByLabel('Choose a password').fill('a long enough password');
  await page.getByLabel('Type the password again').fill('a long enough password');
  await page.getByRole('button', { name: 'Join the group' }).click();
  await page.waitForURL(`${hearth.base}/`);
}

test('dashboard, members, settings and account pages work and pass axe', async () => {
  const ctx = await browser.newContext({ bypassCSP: true });
  const fac = await ctx.newPage();
  await join_(fac, hearth.setupLink, 'Fran', 'fran');

  // Five members join through invites made in the web.
  for (let i = 0; i < 5; i++) {
    await fac.goto(`${hearth.base}/invites`);
    await fac.getByLabel('Member', { exact: true }).check();
    await fac.getByRole('button', { name: 'Make an invite link' }).click();
    const link = await fac.locator('#new-link').inputValue();
    const mctx = await browser.newContext({ bypassCSP: true });
    await join_(await mctx.newPage(), link, `Member ${i}`, `member${i}`);
    await mctx.close();
  }
  execFileSync('python3', [join(here, 'seed_past_weeks.py'), hearth.database]);

  await fac.goto(`${hearth.base}/group`);
  assert.match(await fac.textContent('main'), /6 people answered/);
  assert.equal(await fac.locator('svg[role="img"]').count(), 3);
  await accessible(fac, 'dashboard');
  const csv = await fac.request.get(`${hearth.base}/group/export.csv`);
  assert.equal(csv.status(), 200);
  assert.equal((await csv.text()).trim().split('\n').length, 3);

  await fac.getByRole('link', { name: 'Members' }).click();
  await accessible(fac, 'members');
  await fac.getByRole('link', { name: /Remove.*Member 0/ }).click();
  await accessible(fac, 'remove-confirm');
  await fac.getByRole('link', { name: /Keep/ }).click();

  await fac.getByRole('link', { name: 'Settings' }).click();
  await accessible(fac, 'settings');
  await fac.getByLabel('Time zone').fill('Nowhere/Atlantis');
  await fac.getByRole('button', { name: 'Save settings' }).click();
  assert.match(await fac.textContent('.error-summary'), /time zone/);
  await accessible(fac, 'settings-error');
  await fac.getByLabel('Time zone').fill('Europe/London');
  await fac.getByLabel('Fewest answers before').selectOption('4');
  await fac.getByLabel('Region').selectOption('uk-north-west');
  await fac.getByLabel('Peer support').check();
  await fac.getByLabel('Size of the group').selectOption('6-10');
  await fac.getByRole('button', { name: 'Save settings' }).click();
  assert.match(await fac.textContent('main'), /The settings are saved/);
  assert.match(await fac.textContent('main'), /fewer than 5/);
  await accessible(fac, 'settings-saved');

  await fac.getByRole('link', { name: 'Account' }).click();
  await fac.getByRole('button', { name: 'Count my check-ins in shared figures' }).click();
  assert.match(await fac.textContent('main'), /may now count/);
  await accessible(fac, 'account-consent');
  await fac.goto(`${hearth.base}/account/delete`);
  await accessible(fac, 'account-delete');
  await ctx.close();
});
