// The member journey in headless Chromium, with axe-core on every page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHearth, launchBrowser, seriousViolations } from './harness.mjs';

const shots = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
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

const checked = [];

async function accessible(page, name) {
  const violations = await seriousViolations(page);
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  checked.push(name);
  assert.deepEqual(violations, [], `${name}: ${JSON.stringify(violations, null, 2)}`);
}

async function joinAs(page, link, name, username, password) {
  await page.goto(link);
  await page.getByLabel('Your name, as the group knows you').fill(name);
  await page.getByLabel('Choose a username for signing in').fill(username);
  await page.getByLabel('Choose a password').fill(password);
  await page.getByLabel('Type the password again').fill(password);
  await page.getByRole('button', { name: 'Join the group' }).click();
  await page.waitForURL(`${hearth.base}/`);
}

async function answerCheckin(page, { who5, burnout, paid, unpaid, funding, pressure, note }) {
  const items = page.locator('fieldset[id^="who5_"]');
  assert.equal(await items.count(), 5);
  for (let i = 0; i < 5; i++) {
    await items.nth(i).getByLabel(who5, { exact: true }).check();
  }
  await page.locator('#burnout').getByLabel(burnout).check();
  await page.getByLabel('Paid hours for the group this week').fill(paid);
  await page.getByLabel('Unpaid or volunteer hours for the group this week').fill(unpaid);
  await page.getByLabel(/how many went on funding applications/).fill(funding);
  await page.locator('#time_pressure').getByLabel(pressure, { exact: true }).check();
  await page.getByLabel('Private note (optional)').fill(note);
  await page.getByRole('button', { name: 'Save my check-in' }).click();
}

test('setup link, invite, join, check-in, edit and history all work and pass axe', async () => {
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 390, height: 844 } });
  const page = await context.newPage();

  // First facilitator through the setup link.
  await page.goto(hearth.setupLink);
  await accessible(page, '01-join-facilitator');
  await joinAs(page, hearth.setupLink, 'Fran', 'fran', 'facilitator password');
  await accessible(page, '02-home-facilitator');

  // The facilitator makes a member invite.
  await page.getByRole('link', { name: 'Invites' }).click();
  await accessible(page, '03-invites');
  await page.getByLabel('Member', { exact: true }).check();
  await page.getByRole('button', { name: 'Make an invite link' }).click();
  const invite = await page.locator('#new-link').inputValue();
  assert.match(invite, /\/join\//);
  await accessible(page, '04-invite-made');

  // Sign out.
  await page.getByRole('link', { name: 'Account' }).click();
  await accessible(page, '05-account');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.goto(`${hearth.base}/login`);
  await accessible(page, '06-login');

  // A member joins and checks in.
  await joinAs(page, invite, 'Sam', 'sam', 'member password 1');
  assert.match(await page.textContent('main'), /is due/);
  await accessible(page, '07-home-due');
  await page.getByRole('link', { name: 'Start this week’s check-in' }).click();
  await accessible(page, '08-checkin');

  // A mistake is explained, and what was typed stays.
  await page.getByLabel('Paid hours for the group this week').fill('150');
  await page.getByLabel('Private note (optional)').fill('kept words');
  await page.getByRole('button', { name: 'Save my check-in' }).click();
  assert.match(await page.textContent('.error-summary'), /Paid hours must be between 0 and 100/);
  assert.equal(await page.getByLabel('Private note (optional)').inputValue(), 'kept words');
  await accessible(page, '09-checkin-errors');

  await answerCheckin(page, {
    who5: 'Some of the time', burnout: 'I am definitely burning out',
    paid: '4', unpaid: '9', funding: '3', pressure: 'Often', note: 'first note',
  });
  await page.waitForURL(`${hearth.base}/checkin/saved`);
  assert.match(await page.textContent('main'), /Your check-in is saved/);
  assert.match(await page.textContent('main'), /If things are hard right now/);
  await accessible(page, '10-saved-signposting');
  await page.getByRole('link', { name: 'See how this week looks for you' }).click();
  assert.match(await page.textContent('main'), /It sounds like things are hard/);
  await page.goto(`${hearth.base}/checkin/saved`);

  // Edit in the same week.
  await page.getByRole('link', { name: 'Change this week’s answers' }).click();
  assert.match(await page.textContent('main'), /You already checked in this week/);
  assert.equal(await page.getByLabel('Private note (optional)').inputValue(), 'first note');
  await answerCheckin(page, {
    who5: 'Most of the time', burnout: 'Occasionally I am under stress',
    paid: '4', unpaid: '6', funding: '1', pressure: 'Sometimes', note: 'edited note',
  });
  await page.waitForURL(`${hearth.base}/checkin/saved`);
  assert.doesNotMatch(await page.textContent('main'), /It sounds like things are hard/);

  // History.
  await page.getByRole('link', { name: 'My history' }).first().click();
  await accessible(page, '11-history');
  const rows = page.locator('table tbody tr');
  assert.equal(await rows.count(), 1);
  assert.match(await rows.first().textContent(), /80.*2.*4.*6.*1.*Sometimes.*edited note/s);
  assert.equal(await page.locator('svg[role="img"]').count(), 3);

  await page.getByRole('link', { name: 'Need support now?' }).click();
  await accessible(page, '12-support');
  await page.goto(`${hearth.base}/no-such-page`);
  await accessible(page, '13-not-found');
  await context.close();
  assert.equal(checked.length, 13);
});
