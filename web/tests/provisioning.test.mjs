// The Provisioning pages in a real browser: a report imported (and refused
// the second time, line by line), the state filter, disabling with a
// confirmation, provisioned devices, the summary, the label sheet made from a
// report (and a bad report's line), the labels command, and a
// READER who sees the lists without the controls and whose forged requests
// are refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Api, assertAccessible, downloadOf, launchBrowser, loginPage, screenshot, startRoost } from './support.mjs';
import { assertReflows, forge, makePerson, personPage, roost, rowCount } from './fixtures.mjs';

let server;
let browser;
let admin;
let page;
let dir;
let report;
let request;

before(async () => {
  server = await startRoost();
  browser = await launchBrowser();
  admin = await Api.login(server.url);
  dir = mkdtempSync(join(tmpdir(), 'roost-pid-'));
  roost(['pid', 'request', '--manufacturer', 'Acme', '--model', 'LW-1', '--serials', 'S000001..S000005', '-o', join(dir, 'request.csv')]);
  roost(['pid', 'report', join(dir, 'request.csv'), '-o', join(dir, 'report.csv')]);
  request = readFileSync(join(dir, 'request.csv'));
  report = readFileSync(join(dir, 'report.csv'));
  page = await browser.newPage();
  await loginPage(page, server.url);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const csv = (name, buffer) => ({ name, mimeType: 'text/csv', buffer });

test('import a report, then the same again: every refused line is listed by number', async () => {
  await page.goto(server.url + '/provisioning');
  await page.getByRole('heading', { name: 'Provision IDs', level: 2 }).waitFor();
  await page.setInputFiles('#report-file', csv('report.csv', report));
  await page.getByRole('button', { name: 'Import' }).click();
  await page.getByText('Imported 5 Provision IDs.').waitFor();
  const table = page.getByRole('table', { name: 'Provision IDs' });
  await table.getByText('S000005').waitFor();
  assert.equal(await rowCount(table), 5);
  await assertAccessible(page, 'provision ids');
  await screenshot(page, 'provisioning-ids');
  await assertReflows(page, 'provision ids');

  await page.setInputFiles('#report-file', csv('report.csv', report));
  await page.getByRole('button', { name: 'Import' }).click();
  await page.getByText(/Nothing was imported/).waitFor();
  const refused = page.getByRole('table', { name: 'Refused lines' });
  assert.equal(await refused.locator('tbody tr').count(), 5);
  assert.match(await refused.locator('tbody tr').first().innerText(), /^\d+\s/);

  // A request (no provisionIdHash column) is not a report.
  await page.setInputFiles('#report-file', csv('request.csv', request));
  await page.getByRole('button', { name: 'Import' }).click();
  await page.getByText(/Nothing was imported/).waitFor();
  await screenshot(page, 'provisioning-import-refused');
});

test('disable one with a confirmation; the state filter selects it', async () => {
  await page.goto(server.url + '/provisioning/ids');
  const table = page.getByRole('table', { name: 'Provision IDs' });
  await table.getByText('S000001').waitFor();
  const row = table.locator('tbody tr', { hasText: 'S000001' });
  await row.getByRole('button', { name: 'Disable' }).click();
  await row.getByText(/A device proving it is refused from now on/).waitFor();
  await row.getByRole('button', { name: 'Yes, disable' }).click();
  await table.locator('tbody tr', { hasText: 'S000001' }).getByText('disabled').waitFor();

  await page.locator('#pid-state').selectOption('disabled');
  await table.getByText('S000002').waitFor({ state: 'detached' });
  assert.equal(await rowCount(table), 1);
  await page.locator('#pid-state').selectOption('pending');
  await table.getByText('S000002').waitFor();
  assert.equal(await rowCount(table), 4);
});

test('provisioned devices, summary and labels', async () => {
  await page.goto(server.url + '/provisioning/devices');
  await page.getByText('No device has provisioned yet.').waitFor();
  await assertAccessible(page, 'provisioned devices');
  await screenshot(page, 'provisioning-devices');

  await page.goto(server.url + '/provisioning/summary');
  await page.getByTestId('ids-pending').getByText('4').waitFor();
  assert.equal(await page.getByTestId('ids-disabled').innerText(), '1');
  assert.equal(await page.getByTestId('ids-provisioned').innerText(), '0');
  await assertAccessible(page, 'provisioning summary');
  await screenshot(page, 'provisioning-summary');

  await page.goto(server.url + '/provisioning/labels');
  // A bad report: its line is named at the file field, and no sheet is shown.
  const bad = Buffer.from(report.toString('utf8').replace(/^([A-Z2-7]{20}),/m, 'NOTAPROVISIONID,'));
  await page.setInputFiles('#label-sheet-file', csv('bad.csv', bad));
  await page.getByRole('button', { name: 'Make the sheet' }).click();
  await page.locator('#label-sheet-error').getByText(/Line 4:/).waitFor();
  assert.equal(await page.locator('#label-sheet-file').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('img.label-sheet').count(), 0);
  // The report: the sheet is shown, and downloaded as labels.svg.
  await page.setInputFiles('#label-sheet-file', csv('report.csv', report));
  await page.getByRole('button', { name: 'Make the sheet' }).click();
  const img = page.locator('img.label-sheet');
  await img.waitFor();
  await page.waitForFunction(() => {
    const el = document.querySelector('img.label-sheet');
    return el && el.complete && el.naturalWidth > 0;
  });
  const src = await img.getAttribute('src');
  assert.ok(src.startsWith('data:image/svg+xml'), src.slice(0, 40));
  const shown = decodeURIComponent(src.slice(src.indexOf(',') + 1));
  assert.equal(await page.locator('#label-sheet-error').count(), 0);
  const download = await downloadOf(page, () => page.getByRole('button', { name: 'Download sheet (SVG)' }).click());
  assert.equal(download.name, 'labels.svg');
  const saved = download.text;
  assert.equal(saved, shown);
  assert.ok(saved.includes('width="210mm"') && saved.length > 1000, saved.slice(0, 200));
  assert.ok(!/<script/i.test(saved));
  // The same sheet as `roost label --report` writes.
  roost(['label', '--report', join(dir, 'report.csv'), '-o', join(dir, 'sheet.svg')]);
  assert.equal(saved, readFileSync(join(dir, 'sheet.svg'), 'utf8'));

  await page.getByLabel('Report file', { exact: true }).fill('batch 7.csv');
  await page.getByLabel(/Long labels/).check();
  await page.getByLabel('Brand on long labels').fill('Acme');
  assert.equal(await page.getByTestId('command').innerText(), "roost label --report 'batch 7.csv' -o labels.svg --long --brand Acme");
  await assertAccessible(page, 'labels');
  await screenshot(page, 'provisioning-labels');
  await assertReflows(page, 'labels');
});

test('a READER sees Provision IDs without import or disable; forged requests are refused', async () => {
  await makePerson(admin, 'pid-reader@example.com', ['READER']);
  const { context, page: rp } = await personPage(browser, server.url, 'pid-reader@example.com');
  try {
    await rp.goto(server.url + '/provisioning/ids');
    const table = rp.getByRole('table', { name: 'Provision IDs' });
    await table.getByText('S000003').waitFor();
    assert.equal(await rp.getByRole('button', { name: 'Disable' }).count(), 0);
    assert.equal(await rp.locator('#report-file').count(), 0);
    await assertAccessible(rp, 'provision ids as reader');
    const pid = (await admin.call('GET', '/api/provisioning/ids?state=pending')).data[0].provisionId;
    assert.equal(await forge(rp, 'POST', `/api/provisioning/ids/${pid}/disable`), 403);
    assert.equal(
      await rp.evaluate(async (body) => {
        const s = await (await fetch('/api/session')).json();
        const r = await fetch('/api/provisioning/ids/import', { method: 'POST', headers: { 'Content-Type': 'text/csv', 'X-CSRF-Token': s.csrfToken }, body });
        return r.status;
      }, report.toString()),
      403,
    );
  } finally {
    await context.close();
  }
});
