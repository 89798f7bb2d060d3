// What the console's browser tests share: a real `roost serve` on a loopback
// port with a fresh data directory, Debian's Chromium driven by playwright-core,
// an API client for setting things up, the axe-core check and screenshots.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium, firefox } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '../..');
export const ROOST_BIN = process.env.ROOST_BIN ?? join(repo, 'build/roost');
export const CONSOLE_DIR = process.env.ROOST_CONSOLE_DIR ?? join(repo, 'build/web');
export const SCREENSHOTS = process.env.ROOST_SCREENSHOTS ?? join(repo, 'build/console-screenshots');
export const ADMIN_EMAIL = 'admin@localhost';
export const ADMIN_PASSWORD = 'console-test-admin-password';

// Starts roost serve; resolves once its "listening" line names the address.
export async function startRoost(extraArgs = [], env = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'roost-console-'));
  const proc = spawn(
    ROOST_BIN,
    ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--threads', '2', '--console-dir', CONSOLE_DIR, ...extraArgs],
    { env: { ...process.env, ROOST_ADMIN_PASSWORD: ADMIN_PASSWORD, ROOST_PROVISIONING_GWMP_LISTEN: '127.0.0.1:0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const log = [];
  const lines = createInterface({ input: proc.stderr });
  const address = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('roost serve did not start: ' + log.join(''))), 30000);
    lines.on('line', (line) => {
      log.push(line + '\n');
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'listening') {
          clearTimeout(timer);
          ok(entry.address);
        }
      } catch {
        /* not a log line */
      }
    });
    proc.on('exit', (code) => fail(new Error(`roost serve exited (${code}): ` + log.join(''))));
  });
  proc.stdout.resume();
  const url = `http://${address}`;
  return {
    url,
    dataDir,
    log,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// ROOST_BROWSER picks the browser: chromium (Debian's, by the DevTools
// protocol) or firefox (Debian's firefox-esr, by WebDriver BiDi: the "moz-"
// channel makes playwright-core drive an unpatched Firefox).
export const BROWSER = process.env.ROOST_BROWSER ?? 'chromium';

export async function launchBrowser() {
  if (BROWSER === 'firefox') {
    return firefox.launch({ channel: 'moz-firefox-esr', executablePath: process.env.FIREFOX ?? '/usr/bin/firefox-esr', headless: true });
  }
  const args = process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [];
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args });
}

// A session of the API for setting up what a test needs (as a person:
// the cookie, and the CSRF token on every change), or Basic for an API user.
export class Api {
  constructor(url) {
    this.url = url;
    this.cookie = '';
    this.csrf = '';
    this.basic = '';
  }
  static async login(url, email = ADMIN_EMAIL, password = ADMIN_PASSWORD) {
    const api = new Api(url);
    const res = await fetch(url + '/api/session/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    assert.equal(res.status, 200, 'login: ' + (await res.clone().text()));
    api.cookie = res.headers.get('set-cookie').split(';')[0];
    api.csrf = (await res.json()).csrfToken;
    return api;
  }
  static basicAuth(url, login, password) {
    const api = new Api(url);
    api.basic = 'Basic ' + Buffer.from(`${login}:${password}`).toString('base64');
    return api;
  }
  async call(method, path, body, { contentType, expect } = {}) {
    const headers = {};
    if (this.basic) headers.Authorization = this.basic;
    else {
      headers.Cookie = this.cookie;
      if (method !== 'GET') headers['X-CSRF-Token'] = this.csrf;
    }
    let payload;
    if (body !== undefined) {
      if (contentType) {
        headers['Content-Type'] = contentType;
        payload = body;
      } else {
        headers['Content-Type'] = 'application/json';
        payload = JSON.stringify(body);
      }
    }
    const res = await fetch(this.url + path, { method, headers, body: payload });
    const text = await res.text();
    if (expect !== undefined) assert.equal(res.status, expect, `${method} ${path}: ${text}`);
    else assert.ok(res.ok, `${method} ${path} answered ${res.status}: ${text}`);
    return text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
  }
}

// Logs in through the console's form.
export async function loginPage(page, url, email = ADMIN_EMAIL, password = ADMIN_PASSWORD) {
  await page.goto(url + '/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('link', { name: email }).waitFor();
}

const axeSource = readFileSync(join(here, '../node_modules/axe-core/axe.min.js'), 'utf8');

// Runs axe-core on the page (WCAG 2 A/AA rules) and fails on any serious or
// critical violation, naming the rule and the elements.
export async function assertAccessible(page, what) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const serious = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(serious, [], `${what}: accessibility violations: ${JSON.stringify(serious, null, 1)}`);
}

// The file a click makes the page download: { name, text }. Chromium reports the
// download itself. Firefox driven by WebDriver BiDi reports no download to
// playwright-core 1.61, so there the page's own hand-over is read instead: the
// Blob it gives to URL.createObjectURL and the name on the <a download> it clicks.
export async function downloadOf(page, click) {
  if (BROWSER === 'chromium') {
    const [d] = await Promise.all([page.waitForEvent('download'), click()]);
    return { name: d.suggestedFilename(), text: readFileSync(await d.path(), 'utf8') };
  }
  await page.evaluate(() => {
    const blobs = new Map();
    const createObjectURL = URL.createObjectURL;
    URL.createObjectURL = (blob) => {
      const url = createObjectURL.call(URL, blob);
      blobs.set(url, blob);
      return url;
    };
    window.roostDownloads = [];
    const click = HTMLAnchorElement.prototype.click;
    HTMLAnchorElement.prototype.click = function () {
      const blob = this.download && blobs.get(this.href);
      if (!blob) return click.call(this);
      window.roostDownloads.push(blob.text().then((text) => ({ name: this.download, text })));
    };
  });
  await click();
  await page.waitForFunction(() => window.roostDownloads.length > 0);
  return page.evaluate(() => window.roostDownloads[0]);
}

export async function screenshot(page, name) {
  if (BROWSER !== 'chromium') return; // docs/console.md shows Chromium's
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export const CRA_KEY = '00112233445566778899AABBCCDDEEFF';

// Issues a CRA batch with `roost cra issue` and imports it through the API
// (POST /api/credentials/import); returns the [id, pac] pairs and the
// ID/PAC file's path (a valid series file).
export async function issueAndImport(api, count, firstId) {
  const { execFileSync } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'roost-batch-'));
  execFileSync(ROOST_BIN, ['cra', 'issue', '--count', String(count), '--first-id', firstId, '--enc-key', CRA_KEY, '--out-dir', join(dir, 'batch')], { stdio: 'pipe' });
  const idKey = readFileSync(join(dir, 'batch/id_key_encrypted.bin'));
  const idPacPath = join(dir, 'batch/id_pac.txt');
  const idPac = readFileSync(idPacPath);
  const form = new FormData();
  form.set('encryptionKey', CRA_KEY);
  form.set('idKey', new Blob([idKey]), 'id_key_encrypted.bin');
  form.set('idPac', new Blob([idPac]), 'id_pac.txt');
  const headers = api.basic ? { Authorization: api.basic } : { Cookie: api.cookie, 'X-CSRF-Token': api.csrf };
  const res = await fetch(api.url + '/api/credentials/import', { method: 'POST', headers, body: form });
  const report = await res.json();
  assert.equal(res.status, 200, JSON.stringify(report));
  assert.equal(report.imported, count, JSON.stringify(report));
  const pairs = idPac
    .toString()
    .split('\n')
    .filter((l) => l.includes(';'))
    .map((l) => l.trim().split(';'));
  return { pairs, idPacPath };
}
