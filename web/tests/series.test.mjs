// New series and Edit series in a real browser: a factory batch's credentials
// imported, a file with bad lines flagged before anything is sent (upload
// blocked), the batch's ID/PAC file registered and the job followed to done,
// a repeat whose failures are listed, the certificate search, a bulk edit,
// and a READER refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Api, assertAccessible, launchBrowser, loginPage, screenshot, startRoost } from './support.mjs';
import { assertReflows, forge, makePerson, personPage, postForm, roost } from './fixtures.mjs';

const ENC_KEY = '00112233445566778899AABBCCDDEEFF';
let server;
let browser;
let admin;
let page;
let batch;
let idPac;
let typeId;

const file = (name, text) => ({ name, mimeType: 'text/csv', buffer: Buffer.from(text) });

before(async () => {
  server = await startRoost();
  browser = await launchBrowser();
  admin = await Api.login(server.url);
  typeId = (await admin.call('POST', '/api/devicetypes/create', { name: 'Water meter' })).id;
  batch = mkdtempSync(join(tmpdir(), 'roost-batch-'));
  roost(['cra', 'issue', '--count', '20', '--first-id', '0041A2F0', '--enc-key', ENC_KEY, '--out-dir', batch]);
  idPac = readFileSync(join(batch, 'id_pac.txt'), 'utf8');
  const form = new FormData();
  form.append('encryptionKey', ENC_KEY);
  form.append('idKey', new Blob([readFileSync(join(batch, 'id_key_encrypted.bin'))]), 'id_key_encrypted.bin');
  form.append('idPac', new Blob([idPac]), 'id_pac.txt');
  const imported = await postForm(admin, '/api/credentials/import', form);
  assert.equal(imported.imported, 20);
  page = await browser.newPage();
  await loginPage(page, server.url);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (batch) rmSync(batch, { recursive: true, force: true });
});

const dataLines = () => idPac.split(/\r?\n/).filter((l) => l.trim());

test('bad lines are flagged before submitting and block the upload', async () => {
  await page.goto(server.url + '/series/new');
  await page.getByRole('heading', { name: 'New series' }).waitFor();
  await page.getByText('File format').click();
  await page.getByText(/The ID is 1 to 8 hexadecimal digits/).waitFor();
  await assertAccessible(page, 'new series');
  await screenshot(page, 'series-new');

  const [first] = dataLines();
  const pac = first.split(/[;,]/)[1];
  await page.setInputFiles('#series-file', file('bad.csv', `id;pac\n${first}\n\n${first}\nXYZ;${pac}\n41A2F1;0011\n41A2F2,${pac}\n`));
  await page.getByTestId('preview-summary').getByText(/4 bad lines of 5/).waitFor();
  const bad = page.getByRole('table', { name: 'Bad lines' });
  const text = await bad.innerText();
  assert.match(text, /4\s.*duplicate of line 2/);
  assert.match(text, /5\s.*ID "XYZ" is not 1 to 8 hex digits/);
  assert.match(text, /6\s.*PAC "0011" is not 16 hex digits/);
  assert.match(text, /7\s.*uses ","/);
  assert.ok(await page.getByRole('button', { name: 'Register the devices' }).isDisabled());
  assert.ok(await page.getByText('Fix the bad lines first.').isVisible());
  await assertAccessible(page, 'series with bad lines');
  await screenshot(page, 'series-bad-lines');
  await assertReflows(page, 'series preview');
});

test('the batch’s ID/PAC file registers 20 devices and the job reaches done', async () => {
  await page.goto(server.url + '/series/new');
  await page.setInputFiles('#series-file', file('id_pac.txt', idPac));
  await page.getByText('20 device lines, no problem found.').waitFor();
  // The device types load beside the preview: the select takes the first type once they are in.
  const typeSelect = await page.getByLabel('Device type').elementHandle();
  await page.waitForFunction((el) => el.value !== '', typeSelect, { timeout: 10000 });
  assert.equal(await page.getByLabel('Device type').inputValue(), typeId);
  await page.getByLabel('Name prefix (optional)').fill('meter-');
  await page.getByRole('button', { name: 'Register the devices' }).click();
  await page.getByTestId('job-state').getByText('Done: 20 of 20 succeeded, 0 failed.').waitFor({ timeout: 30000 });
  await assertAccessible(page, 'series job');
  await screenshot(page, 'series-job-done');
  const devices = await admin.call('GET', `/api/devices?deviceTypeId=${typeId}&limit=100`);
  assert.equal(devices.data.length, 20);
  assert.ok(devices.data.every((d) => d.name.startsWith('meter-')));

  // The same devices again: each one fails, and is listed with the server's reason.
  await page.getByRole('button', { name: 'Another series' }).click();
  await page.setInputFiles('#series-file', file('again.txt', dataLines().slice(0, 3).join('\n')));
  await page.getByText('3 device lines, no problem found.').waitFor();
  await page.getByRole('button', { name: 'Register the devices' }).click();
  await page.getByText('Done: 0 of 3 succeeded, 3 failed.').waitFor({ timeout: 30000 });
  const failed = page.getByRole('table', { name: 'Failed devices' });
  assert.equal(await failed.locator('tbody tr').count(), 3);
  await screenshot(page, 'series-job-failures');
  await assertReflows(page, 'series job');
});

test('where can I find the end-product certificate: search and use one', async () => {
  await admin.call('POST', '/api/product-certificates/import', [{ key: 'P_0004_D356_03', manufacturer: 'Acme Sensors', productName: 'Flow meter 3' }]);
  await page.goto(server.url + '/series/new');
  await page.getByText('Where can I find the end-product certificate?').click();
  await page.getByLabel('Manufacturer, product or key').fill('acme');
  await page.getByLabel('Manufacturer, product or key').press('Enter');
  const results = page.getByRole('table', { name: 'Product certificates' });
  await results.getByText('Flow meter 3').waitFor();
  await assertAccessible(page, 'certificate search');
  await results.getByRole('button', { name: 'Use P_0004_D356_03' }).click();
  assert.equal(await page.getByLabel('Product certificate (optional)').inputValue(), 'P_0004_D356_03');
  // Enter in the search did not submit the series form.
  assert.equal(await page.getByRole('heading', { name: /Registering/ }).count(), 0);
});

test('edit series: a bad coordinate is flagged; a good file renames and places devices', async () => {
  await page.goto(server.url + '/series/edit');
  await page.getByRole('heading', { name: 'Edit series' }).waitFor();
  await page.setInputFiles('#edit-file', file('bad-edit.csv', 'id;lat\n41A2F0;91\n'));
  await page.getByText(/lat "91" is not a number between -90 and 90/).first().waitFor();
  assert.ok(await page.getByRole('button', { name: 'Apply the changes' }).isDisabled());
  await assertAccessible(page, 'edit series');
  await screenshot(page, 'series-edit');

  await page.setInputFiles('#edit-file', file('edit.csv', 'id;name;lat;lng\n0041A2F0;Pump 1;48.8566;2.3522\n41A2F1;Pump 2;;\n'));
  await page.getByText('2 device lines, no problem found.').waitFor();
  await page.getByRole('button', { name: 'Apply the changes' }).click();
  await page.getByText('Done: 2 of 2 succeeded, 0 failed.').waitFor({ timeout: 30000 });
  const d = await admin.call('GET', '/api/devices/41A2F0');
  assert.equal(d.name, 'Pump 1');
  assert.equal(d.lat, 48.8566);
  assert.equal((await admin.call('GET', '/api/devices/41A2F1')).name, 'Pump 2');
});

test('FACTORY, which may not list device types, types the id and registers a batch', async () => {
  const second = mkdtempSync(join(tmpdir(), 'roost-batch-'));
  try {
    roost(['cra', 'issue', '--count', '5', '--first-id', '0051B000', '--enc-key', ENC_KEY, '--out-dir', second]);
    const pairs = readFileSync(join(second, 'id_pac.txt'), 'utf8');
    const form = new FormData();
    form.append('encryptionKey', ENC_KEY);
    form.append('idKey', new Blob([readFileSync(join(second, 'id_key_encrypted.bin'))]), 'id_key_encrypted.bin');
    form.append('idPac', new Blob([pairs]), 'id_pac.txt');
    await postForm(admin, '/api/credentials/import', form);
    await makePerson(admin, 'factory@example.com', ['FACTORY']);
    const { context, page: fp } = await personPage(browser, server.url, 'factory@example.com');
    try {
      await fp.getByRole('link', { name: 'New series' }).click();
      await fp.getByLabel('Device type id').fill(typeId);
      await fp.setInputFiles('#series-file', file('id_pac.txt', pairs));
      await fp.getByText('5 device lines, no problem found.').waitFor();
      await fp.getByRole('button', { name: 'Register the devices' }).click();
      await fp.getByText('Done: 5 of 5 succeeded, 0 failed.').waitFor({ timeout: 30000 });
      await assertAccessible(fp, 'series as factory');
    } finally {
      await context.close();
    }
  } finally {
    rmSync(second, { recursive: true, force: true });
  }
});

test('a READER cannot register or edit series, even by a forged request', async () => {
  await makePerson(admin, 'series-reader@example.com', ['READER']);
  const { context, page: rp } = await personPage(browser, server.url, 'series-reader@example.com');
  try {
    assert.equal(await rp.getByRole('link', { name: 'New series' }).count(), 0);
    await rp.goto(server.url + '/series/new');
    await rp.getByText(/Registering devices needs the ADMIN, DEVICE_MANAGER or FACTORY role/).waitFor();
    assert.equal(await rp.locator('input[type=file]').count(), 0);
    await rp.goto(server.url + '/series/edit');
    await rp.getByText(/Editing devices needs/).waitFor();
    assert.equal(await forge(rp, 'POST', `/api/devicetypes/${typeId}/devices/bulk/create/series`, {}), 403);
    assert.equal(await forge(rp, 'POST', '/api/devices/bulk/edit', [{ id: '41A2F0', name: 'mine' }]), 403);
  } finally {
    await context.close();
  }
});
