// Starts a real `hearth serve` on a fresh data directory and drives Debian's Chromium.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
export const AXE_PATH = require.resolve('axe-core/axe.min.js');
export const CHROMIUM = process.env.HEARTH_CHROMIUM || '/usr/bin/chromium';
export const HEARTH_BIN = process.env.HEARTH_BIN || join(here, '..', '..', 'target', 'debug', 'hearth');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Serves a new instance (a hub with `{ hub: true }`); resolves once it has printed its setup link. */
/**
 * Starts an instance on a free port. `federate` serves it as http://localhost:PORT with
 * federation over plain HTTP on this machine allowed, so two instances can join each other
 * (an IP-literal address could not federate).
 */
export async function startHearth({ hub = false, federate = false } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'hearth-browser-'));
  const port = await freePort();
  const base = federate ? `http://localhost:${port}` : `http://127.0.0.1:${port}`;
  const urlArgs = federate ? ['--public-url', `${base}/`] : [];
  if (hub) {
    execFileSync(HEARTH_BIN, ['init', '--hub', '--group-name', 'Test hub', '--data-dir', dataDir,
      '--listen', `127.0.0.1:${port}`, ...urlArgs], { stdio: 'ignore' });
  }
  const env = { ...process.env, RUST_LOG: 'warn' };
  delete env.HEARTH_PUBLIC_URL;
  delete env.HEARTH_LISTEN;
  delete env.HEARTH_DATA_DIR;
  if (federate) env.HEARTH_FEDERATION_INSECURE_LOCAL = 'true';
  const child = spawn(HEARTH_BIN, ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, ...urlArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env,
  });
  const setupLink = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no setup link within 60 s:\n${out}`)), 60_000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/(http:\/\/\S+\/join\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hearth exited with ${code}:\n${out}`));
    });
  });
  return {
    base,
    setupLink,
    database: join(dataDir, 'hearth.sqlite3'),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/** Runs axe-core on the page; returns violations of serious or critical impact. */
export async function seriousViolations(page) {
  await page.addScriptTag({ path: AXE_PATH });
  const results = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
    }));
  });
  return results.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
