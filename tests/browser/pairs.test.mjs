// A hub pair in headless Chromium at phone size, with axe-core: the leader's staff propose a
// pair on the Hub pairs page, the helper's staff accept it, and a group's facilitator finds the
// pair on its sharing page, reads who can see what, and chooses to share through it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
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
  await page.screenshot({ path: join(shots, `pairs-${name}.png`), fullPage: true });
  assert.deepEqual(violations, [], `${name}: ${JSON.stringify(violations, null, 2)}`);
  // Nothing wider than a phone's screen.
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 390, `${name}: the page is ${wide} px wide`);
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

/** Reloads `url` until `pattern` is in the main text (deliveries run in the background). */
async function until(page, url, pattern) {
  for (let i = 0; i < 150; i++) {
    await page.goto(url);
    if (pattern.test(await page.textContent('main'))) return;
    await page.waitForTimeout(100);
  }
  assert.match(await page.textContent('main'), pattern);
}

test('two hubs pair and a group chooses the pair, at phone size', async () => {
  mkdirSync(shots, { recursive: true });
  browser = await launchBrowser();
  const leader = await startHearth({ hub: true, federate: true });
  running.push(leader);
  const helper = await startHearth({ hub: true, federate: true });
  running.push(helper);
  const group = await startHearth({ federate: true });
  running.push(group);
  const phone = { bypassCSP: true, viewport: { width: 390, height: 844 } };

  const lctx = await browser.newContext(phone);
  const lpage = await lctx.newPage();
  await joinFirst(lpage, leader, 'staff');
  await lpage.goto(`${leader.base}/groups`);
  await lpage.getByRole('button', { name: 'Let groups join at once' }).click();
  const hctx = await browser.newContext(phone);
  const hpage = await hctx.newPage();
  await joinFirst(hpage, helper, 'helper');

  await lpage.goto(`${leader.base}/pairs`);
  assert.match(await lpage.textContent('main'), /This hub is in no pair/);
  await accessible(lpage, 'leader-empty');
  // A bad address is refused beside the field, keeping what was typed.
  await lpage.getByLabel('The other hub’s address').fill('not an address');
  await lpage.getByRole('button', { name: 'Propose the pair' }).click();
  assert.equal(await lpage.getByLabel('The other hub’s address').inputValue(), 'not an address');
  await accessible(lpage, 'leader-error');
  await lpage.getByLabel('The other hub’s address').fill(`${helper.base}/actor`);
  await lpage.getByLabel('each region').check();
  await lpage.getByRole('button', { name: 'Propose the pair' }).click();
  assert.match(await lpage.textContent('[role=status]'), /proposed/);

  await until(hpage, `${helper.base}/pairs`, /Waiting for your answer/);
  await accessible(hpage, 'helper-offer');
  await hpage.getByRole('button', { name: 'Accept the pair' }).click();
  assert.match(await hpage.textContent('[role=status]'), /accepted the pair/);
  await until(lpage, `${leader.base}/pairs`, /Aggregating/);
  assert.match(await lpage.textContent('main'), /unless both/);
  await accessible(lpage, 'leader-aggregating');

  const gctx = await browser.newContext(phone);
  const page = await gctx.newPage();
  await joinFirst(page, group, 'fran');
  await page.goto(`${group.base}/hubs`);
  await page.getByLabel('The hub’s address').fill(`${leader.base}/actor`);
  await page.getByRole('button', { name: 'Ask to join' }).click();
  await until(page, `${group.base}/hubs`, /Member/);
  await page.getByRole('link', { name: /Sharing/ }).click();
  assert.match(await page.textContent('main'), /offers no hub pair/);
  await page.getByRole('button', { name: /for its pairs/ }).click();
  assert.match(await page.textContent('[role=status]'), /pairs are looked up/);
  assert.match(await page.textContent('main'), /No one learns your group’s figures unless both/);
  await accessible(page, 'group-sharing-with-pair');
  await page.getByRole('link', { name: 'Choose what to share through this pair' }).click();
  assert.match(await page.textContent('main'), /What is eventually published/);
  assert.match(await page.textContent('main'), /the whole network/);
  await accessible(page, 'group-pair');
  await page.getByLabel('Yes: after each period that closes from now on, send each hub its share').check();
  await page.getByRole('button', { name: 'Save' }).click();
  assert.match(await page.textContent('[role=status]'), /settings for this pair are saved/);
  assert.ok(await page.getByLabel('Yes: after each period that closes from now on, send each hub its share').isChecked());
  await accessible(page, 'group-pair-saved');
  await page.goto(`${group.base}/hubs`);
  await page.getByRole('link', { name: /Sharing/ }).click();
  assert.match(await page.textContent('main'), /Sharing through this pair/);

  // The leader's staff end the pair; the helper hears it.
  await lpage.goto(`${leader.base}/pairs`);
  await lpage.getByRole('button', { name: /End this pair/ }).click();
  assert.match(await lpage.textContent('[role=status]'), /pair is ended/);
  await until(hpage, `${helper.base}/pairs`, /Ended/);
  await accessible(hpage, 'helper-ended');
  await gctx.close();
  await hctx.close();
  await lctx.close();
});
