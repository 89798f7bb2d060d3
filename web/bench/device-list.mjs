// Times the console's device list in Chromium: from navigation to the first
// page of devices on screen, with a cold cache (a new browser context: every
// asset downloaded) and a warm one (a reload), and counts the bytes the first
// load transferred (compressed, headers included).
// Usage: node bench/device-list.mjs URL EMAIL PASSWORD ROUNDS  → one JSON line
import { chromium } from 'playwright-core';

const [url, email, password, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 10);
const args = process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [];
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args });

const login = await fetch(url + '/api/session/login', {
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ email, password }),
});
if (login.status !== 200) throw new Error('login: ' + login.status);
const [name, value] = login.headers.get('set-cookie').split(';')[0].split('=');

async function once() {
  const context = await browser.newContext();
  await context.addCookies([{ name, value, url }]);
  const page = await context.newPage();
  const sizes = [];
  page.on('requestfinished', async (req) => {
    const s = await req.sizes().catch(() => null);
    if (s) sizes.push({ url: req.url(), bytes: s.responseBodySize + s.responseHeadersSize, api: new URL(req.url()).pathname.startsWith('/api/') });
  });
  let t0 = performance.now();
  await page.goto(url + '/devices');
  await page.locator('tbody tr td a').first().waitFor();
  const cold = performance.now() - t0;
  const rows = await page.locator('tbody tr').count();
  await page.waitForLoadState('networkidle');
  const coldSizes = [...sizes];
  t0 = performance.now();
  await page.reload();
  await page.locator('tbody tr td a').first().waitFor();
  const warm = performance.now() - t0;
  await context.close();
  return { cold, warm, rows, sizes: coldSizes };
}

await once(); // warm-up: the server's caches and Chromium's start
const colds = [];
const warms = [];
let last;
for (let i = 0; i < rounds; i++) {
  last = await once();
  colds.push(last.cold);
  warms.push(last.warm);
}
await browser.close();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const assets = last.sizes.filter((s) => !s.api).reduce((a, s) => a + s.bytes, 0);
const api = last.sizes.filter((s) => s.api).reduce((a, s) => a + s.bytes, 0);
console.log(JSON.stringify({ rounds, rows: last.rows, coldMedianMs: median(colds), coldMaxMs: Math.max(...colds), warmMedianMs: median(warms), warmMaxMs: Math.max(...warms), assetBytes: assets, apiBytes: api, requests: last.sizes.length }));
