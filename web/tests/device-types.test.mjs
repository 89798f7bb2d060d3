// The console's main flows in Chromium against a real roost serve: log in
// (also by keyboard only, and a failing login), create a device type with a
// custom format (a bad format is shown at its field, "try it" decodes), add a
// callback, see an ingested message appear decoded live, open the statistics
// chart, search devices by keyboard; a READER sees no edit controls and a
// forged request from its session is refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, assertAccessible, issueAndImport, launchBrowser, loginPage, screenshot, startRoost } from './support.mjs';
import { forge, makePerson, personPage } from './fixtures.mjs';

describe('device types, devices and messages', () => {
  let server, browser, admin;
  before(async () => {
    server = await startRoost();
    browser = await launchBrowser();
    admin = await Api.login(server.url);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('a wrong password is refused on the login page and nothing opens', async () => {
    const page = await browser.newPage();
    await page.goto(server.url + '/');
    await page.waitForURL(/\/login/);
    await page.getByLabel('Email').fill('admin@localhost');
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'wrong email or password' }).waitFor();
    assert.match(page.url(), /\/login/);
    await assertAccessible(page, 'login page with an error');
    await screenshot(page, 'login-failed');
    await page.close();
  });

  test('keyboard only: log in, then search devices by ID prefix', async () => {
    await issueAndImport(admin, 3, '0041A2F0').then(async ({ pairs }) => {
      const { id: type } = await admin.call('POST', '/api/devicetypes/create', { name: 'keyboard type' });
      for (const [id, pac] of pairs) await admin.call('POST', '/api/devices/create', { id, pac, name: `kb-${id}`, type });
    });
    const page = await browser.newPage();
    await page.goto(server.url + '/login');
    await page.getByLabel('Email').waitFor(); // rendered (the page reads the session first)
    for (let i = 0; i < 5 && (await page.evaluate(() => document.activeElement?.id)) !== 'email'; i++) {
      await page.keyboard.press('Tab');
    }
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'email', 'Tab reaches the email field');
    await page.keyboard.type('admin@localhost');
    await page.keyboard.press('Tab');
    await page.keyboard.type('console-test-admin-password');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Home' }).waitFor();
    // The home page counts what this admin's groups hold: the three devices just registered.
    await page.getByTestId('devices').filter({ hasText: /^3$/ }).waitFor();
    await assertAccessible(page, 'home');
    await screenshot(page, 'home');
    // Focus starts on the page's heading after a navigation; the menu is above it.
    let found = false;
    for (let i = 0; i < 15 && !found; i++) {
      await page.keyboard.press('Shift+Tab');
      found = await page.evaluate(() => document.activeElement?.textContent === 'Devices');
    }
    assert.ok(found, 'the Devices link is reachable with the keyboard');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Devices' }).waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'f-idPrefix', 'Tab after the heading reaches the first filter');
    await page.keyboard.type('0041A2F1');
    await page.keyboard.press('Enter');
    await page.waitForURL(/idPrefix=0041A2F1/);
    // The unfiltered page may still be on screen for a moment: wait for the filtered one.
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 1);
    assert.equal(await page.getByRole('cell', { name: 'kb-0041A2F1' }).count(), 1);
    await assertAccessible(page, 'device list');
    await screenshot(page, 'devices');
    await page.close();
  });

  test('create a device type with a custom format and a callback, then see a message decoded live', async () => {
    const page = await browser.newPage();
    await loginPage(page, server.url);
    await page.goto(server.url + '/devicetypes');
    await page.getByRole('link', { name: 'New device type' }).click();
    await page.getByLabel('Name').fill('thermometers');
    // The DIRECT downlink template, checked by the server as it is typed.
    const template = page.getByLabel(/Downlink data/);
    await template.fill('{time}{nosuch}');
    await page.locator('#t-downlinkDataString-error').waitFor();
    assert.match(await page.locator('#t-downlinkDataString-error').innerText(), /nosuch/);
    await template.fill('{time}{rssi}0000');
    await page.locator('#t-downlinkDataString-hint').filter({ hasText: /^valid/ }).waitFor();
    assert.equal(await page.locator('#t-downlinkDataString-error').count(), 0);
    await page.getByLabel('Custom').check();
    const format = page.getByLabel('Custom format');
    await format.fill('temp::int:16:little-endian hum::nosuchtype:8');
    // The server's compiler answers as one types, at the field.
    await page.locator('#t-payloadConfig-error').waitFor();
    assert.match(await page.locator('#t-payloadConfig-error').innerText(), /position|type/i);
    assert.equal(await format.getAttribute('aria-invalid'), 'true');
    await assertAccessible(page, 'device type editor with a format error');
    await screenshot(page, 'device-type-format-error');
    await format.fill('temp::int:16:little-endian hum::uint:8');
    await page.getByLabel('Try it: a message in hex').fill('feff15');
    await page.locator('output#t-result').filter({ hasText: '"temp":-2' }).waitFor();
    assert.match(await page.locator('output#t-result').innerText(), /"hum":21/);
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: /Device type thermometers/ }).waitFor();
    const typeId = page.url().split('/devicetypes/')[1].split('/')[0];
    await screenshot(page, 'device-type');

    // The list's name filter: only the matching type is left.
    await admin.call('POST', '/api/devicetypes/create', { name: 'another kind' });
    await page.goto(server.url + '/devicetypes');
    await page.getByRole('link', { name: 'another kind' }).waitFor();
    await page.getByLabel('Name contains').fill('THERMO');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 1);
    await page.getByRole('link', { name: 'thermometers' }).waitFor();
    await assertAccessible(page, 'device type list');
    await screenshot(page, 'device-types');
    await page.goto(`${server.url}/devicetypes/${typeId}`);

    await page.getByRole('link', { name: 'Callbacks' }).click();
    await page.getByRole('link', { name: 'New callback' }).click();
    await page.getByLabel('URL').fill('http://127.0.0.1:9/uplink?device={device}&nosuch={nosuch}');
    await page.getByRole('button', { name: 'Create callback' }).click();
    // An unknown variable is refused at the URL field, with its position.
    await page.locator('#cb-url-error').waitFor();
    assert.match(await page.locator('#cb-url-error').innerText(), /nosuch/);
    await page.getByLabel('URL').fill('http://127.0.0.1:9/uplink?device={device}&temp={customData#temp}');
    await page.getByLabel(/Custom payload config/).fill('temp::int:16:little-endian');
    await assertAccessible(page, 'new callback form');
    await screenshot(page, 'callback-new');
    await page.getByRole('button', { name: 'Create callback' }).click();
    await page.waitForURL(new RegExp(`/devicetypes/${typeId}/callbacks$`));
    await page.getByRole('cell', { name: /127\.0\.0\.1:9\/uplink/ }).waitFor();
    await screenshot(page, 'callbacks');

    // Edit it through the same form, filled from the callback: an unknown
    // variable is refused at the URL field, then a good URL is saved and listed.
    await page.getByRole('link', { name: /^Edit callback/ }).click();
    await page.getByRole('heading', { name: 'Edit callback' }).waitFor();
    await page.getByRole('button', { name: 'Save callback' }).waitFor();
    assert.equal(await page.getByLabel('URL').inputValue(), 'http://127.0.0.1:9/uplink?device={device}&temp={customData#temp}');
    assert.equal(await page.getByLabel(/Custom payload config/).inputValue(), 'temp::int:16:little-endian');
    await page.getByLabel('URL').fill('http://127.0.0.1:9/uplink?device={device}&bad={nosuch}');
    await page.getByRole('button', { name: 'Save callback' }).click();
    await page.locator('#cb-url-error').waitFor();
    assert.match(await page.locator('#cb-url-error').innerText(), /nosuch/);
    await assertAccessible(page, 'edit callback form');
    await page.getByLabel('URL').fill('http://127.0.0.1:9/uplink?device={device}&temp={customData#temp}&edited=1');
    await page.getByRole('button', { name: 'Save callback' }).click();
    await page.waitForURL(new RegExp(`/devicetypes/${typeId}/callbacks$`));
    await page.getByRole('cell', { name: /uplink\?device=\{device\}&temp=\{customData#temp\}&edited=1/ }).waitFor();

    // A device of that type, a station, and an ingest through the API while
    // the device's message page is open.
    const { pairs } = await issueAndImport(admin, 1, '0042B000');
    const [id, pac] = pairs[0];
    await admin.call('POST', '/api/devices/create', { id, pac, name: 'thermo-1', type: typeId });
    await admin.call('POST', '/api/stations/create', { id: '0A1B', name: 'roof', lat: 43.6, lng: 1.44 }, { expect: 201 });
    const { login, password } = await admin.call('POST', '/api/api-users/create', { name: 'station', roles: ['STATION'] });
    const station = Api.basicAuth(server.url, login, password);

    await page.goto(`${server.url}/devices/${id}/messages`);
    await page.getByText('Live: new messages appear as they arrive.').waitFor();
    const answer = await station.call('POST', '/api/ingest/uplink', { device: id, seqNumber: 1, data: 'feff15', time: Date.now(), station: '0A1B', rssi: -110, snr: 12 });
    assert.equal(answer.result, 'accepted');
    await page.getByRole('cell', { name: /^(temp: -2, hum: 21|hum: 21, temp: -2)$/ }).waitFor({ timeout: 10000 });
    await assertAccessible(page, 'device messages');
    await screenshot(page, 'device-messages');

    await page.getByRole('link', { name: 'Statistics' }).click();
    await page.getByRole('button', { name: 'Last 24 hours' }).click();
    // A chart per metric that has values: messages, bytes, SNR, RSSI (no STATUS
    // report, so temperature and Vdd say so instead).
    await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 4);
    await page.getByText('Temperature: nothing reported in this range.').waitFor();
    await page.getByText('Values of messages').click();
    await page.locator('.chart').first().getByRole('cell', { name: '1', exact: true }).waitFor();
    await assertAccessible(page, 'device statistics');
    await screenshot(page, 'device-statistics');

    await page.getByRole('link', { name: 'Location' }).click();
    await page.locator('.leaflet-container').waitFor();
    await screenshot(page, 'device-location');
    await page.getByRole('link', { name: 'Information' }).click();
    await page.getByLabel('Name').fill('thermo-one');
    await page.getByLabel('Latitude (−90 to 90)').fill('91');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('#d-lat-error').waitFor();
    await page.getByLabel('Latitude (−90 to 90)').fill('43.61');
    await page.getByLabel('Longitude (−180 to 180)').fill('1.45');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    const device = await admin.call('GET', `/api/devices/${id}`);
    assert.equal(device.name, 'thermo-one');
    assert.equal(device.lat, 43.61);
    await assertAccessible(page, 'device information');
    await screenshot(page, 'device-information');

    // The type's map: its devices with a position (asked for alone, page after page).
    await page.goto(`${server.url}/devicetypes/${typeId}`);
    await page.getByRole('link', { name: 'Location' }).click();
    await page.locator('#t-map-count').filter({ hasText: '1 device has a position.' }).waitFor();
    await page.locator('.leaflet-container').waitFor();
    assert.equal(await page.locator('table.sr-table tbody tr').count(), 1);
    assert.match(await page.locator('table.sr-table tbody').innerText(), /thermo-one/);
    await page.close();
  });

  test('a type map of more devices than it lists counts them in areas, and zooming in lists them', async () => {
    const { id: typeId } = await admin.call('POST', '/api/devicetypes/create', { name: 'large fleet' });
    const count = 1005;
    const { pairs } = await issueAndImport(admin, count, '0044D000');
    const waitJob = async (path) => {
      for (let i = 0; i < 300; i++) {
        const st = await admin.call('GET', path);
        if (st.jobDone) return st;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail(`job ${path} did not end`);
    };
    const created = await admin.call('POST', `/api/devicetypes/${typeId}/devices/bulk/create/async`, { prefix: 'fleet-', ids: pairs.map(([id, pac]) => ({ id, pac })) }, { expect: 202 });
    assert.equal((await waitJob(`/api/jobs/${created.jobId}`)).status.success, count);
    // 1 000 devices around Toulouse, five at one spot in Lima.
    const edits = pairs.map(([id], i) => (i < 1000 ? { id, lat: 43.5 + (i % 40) * 0.005, lng: 1.3 + Math.floor(i / 40) * 0.005 } : { id, lat: -12.05, lng: -77.04 }));
    const edit = await admin.call('POST', '/api/devices/bulk/edit', edits, { expect: 202 });
    assert.equal((await waitJob(`/api/devices/bulk/edit/${edit.jobId}`)).status.success, count);

    const page = await browser.newPage();
    await loginPage(page, server.url);
    await page.goto(`${server.url}/devicetypes/${typeId}/location`);
    await page.locator('#t-map-count').filter({ hasText: '1,005 devices have a position.' }).waitFor();
    await page.locator('#t-map-count').filter({ hasText: 'counted in' }).waitFor();
    // Every device is on the map: the areas' counts add up to all of them.
    const rows = await page.locator('table.sr-table tbody tr td:first-child').allInnerTexts();
    const counted = rows.map((t) => Number(/^([\d,]+) devices?/.exec(t)?.[1].replace(/,/g, '') ?? NaN));
    assert.equal(counted.reduce((a, b) => a + b, 0), count, rows.join('\n'));
    await assertAccessible(page, 'type map in areas');
    await screenshot(page, 'device-type-map-areas');
    // Selecting Lima's area zooms to it, where its five devices are listed one by one.
    await page.locator('.map-cell', { hasText: /^5$/ }).click();
    await page.waitForFunction(() => document.querySelectorAll('table.sr-table tbody tr').length === 5);
    const listed = await page.locator('table.sr-table tbody').innerText();
    assert.equal((listed.match(/fleet-/g) ?? []).length, 5, listed);
    await page.close();
  });

  test('a READER sees no edit controls, and a forged change from its session is refused', async () => {
    const { id: typeId } = await admin.call('POST', '/api/devicetypes/create', { name: 'read only' });
    await makePerson(admin, 'reader@example.com', ['READER']);
    const { context, page } = await personPage(browser, server.url, 'reader@example.com');
    await page.goto(`${server.url}/devicetypes`);
    await page.getByRole('link', { name: 'read only' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'New device type' }).count(), 0);
    await page.getByRole('link', { name: 'read only' }).click();
    await page.getByRole('heading', { name: /Device type read only/ }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Edit', exact: true }).count(), 0);
    await page.getByRole('link', { name: 'Callbacks' }).click();
    await page.getByText('No callback yet.').waitFor();
    assert.equal(await page.getByRole('link', { name: 'New callback' }).count(), 0);
    assert.equal(await page.getByRole('link', { name: 'Users' }).count(), 0, 'no Users menu for a READER');
    await assertAccessible(page, 'callbacks as a READER');
    // The page's own session, CSRF token and all: the server still says no.
    assert.equal(await forge(page, 'POST', '/api/devicetypes/edit', { id: typeId, name: 'hijacked' }), 403);
    assert.equal((await admin.call('GET', `/api/devicetypes/${typeId}`)).name, 'read only');
    await context.close();
  });
});
