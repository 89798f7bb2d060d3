// The Group page in a real browser: information and subgroups, associated
// users and device types (only the group's own), event configuration, API
// access (the password shown once and working), and a READER without edit
// controls whose forged requests are refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, assertAccessible, launchBrowser, loginPage, screenshot, startRoost } from './support.mjs';
import { assertReflows, forge, makePerson, personPage, rowCount } from './fixtures.mjs';

let server;
let browser;
let admin;
let page;
let root;

before(async () => {
  server = await startRoost();
  browser = await launchBrowser();
  admin = await Api.login(server.url);
  root = (await admin.call('GET', '/api/session')).user.group.id;
  page = await browser.newPage();
  await loginPage(page, server.url);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('information: edit the group, create a subgroup, find it listed', async () => {
  await page.goto(server.url + '/group');
  await page.getByRole('navigation', { name: 'Group sections' }).waitFor();
  await page.locator('#group-name').fill('Acme');
  await page.locator('#group-description').fill('The whole company');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'Group Acme' }).waitFor();
  await assertAccessible(page, 'group information');
  await screenshot(page, 'group-information');
  await assertReflows(page, 'group information');

  // A name the server refuses is shown next to the field.
  await page.getByLabel('Subgroup name').fill('');
  await page.getByRole('button', { name: 'Create subgroup' }).click();
  await page.locator('#sub-name-error').waitFor();

  await page.getByLabel('Subgroup name').fill('Workshop');
  await page.getByRole('button', { name: 'Create subgroup' }).click();
  await page.getByRole('heading', { name: 'Group Workshop' }).waitFor();
  assert.match(page.url(), /\/groups\/[0-9a-f]{24}$/);
  await page.goto(server.url + '/group');
  await page.getByRole('link', { name: 'Workshop' }).waitFor();
});

test('associated users and device types are the group’s own', async () => {
  const sub = (await admin.call('POST', '/api/groups/create', { name: 'Field team', parentId: root })).id;
  await makePerson(admin, 'root-user@example.com', ['READER']);
  await makePerson(admin, 'sub-user@example.com', ['READER'], sub);
  await admin.call('POST', '/api/devicetypes/create', { name: 'Root meter' });
  await admin.call('POST', '/api/devicetypes/create', { name: 'Field sensor', group: sub });

  await page.goto(server.url + '/group/users');
  await page.getByRole('link', { name: 'root-user@example.com' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'sub-user@example.com' }).count(), 0);
  await assertAccessible(page, 'group users');
  await screenshot(page, 'group-users');

  await page.goto(server.url + `/groups/${sub}/users`);
  await page.getByRole('link', { name: 'sub-user@example.com' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'root-user@example.com' }).count(), 0);

  await page.goto(server.url + '/group/devicetypes');
  await page.getByRole('link', { name: 'Root meter' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Field sensor' }).count(), 0);
  await assertAccessible(page, 'group device types');
  await page.goto(server.url + `/groups/${sub}/devicetypes`);
  await page.getByRole('link', { name: 'Field sensor' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Root meter' }).count(), 0);
});

test('event configuration: a bad address next to its field, add, delete', async () => {
  await page.goto(server.url + '/group/events');
  await page.getByRole('heading', { name: 'Event configuration', exact: true }).waitFor();
  await page.locator('#ec-emails').fill('ops@example.com, not an address');
  await page.getByRole('button', { name: 'Add' }).click();
  await page.locator('#ec-emails-error').waitFor();

  await page.locator('#ec-emails').fill('ops@example.com\noncall@example.com');
  await page.getByLabel('Communication restored').check();
  await page.getByRole('button', { name: 'Add' }).click();
  const table = page.getByRole('table', { name: 'Event configurations' });
  await table.getByText('ops@example.com, oncall@example.com').waitFor();
  assert.match(await table.innerText(), /COMMUNICATION_LOSS, COMMUNICATION_RESTORED/);
  await assertAccessible(page, 'group events');
  await screenshot(page, 'group-events');

  // With the keyboard only: the question takes the focus to its Cancel.
  await table.getByRole('button', { name: 'Delete' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.textContent === 'Cancel', null, { timeout: 5000 });
  await page.keyboard.press('Shift+Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Yes, delete');
  await page.keyboard.press('Enter');
  await table.getByText('Nobody is mailed about events yet.').waitFor();
  assert.deepEqual((await admin.call('GET', `/api/groups/${root}/events/config`)).data, []);
});

test('API access: the new password is shown once, works, and the credential can be deleted', async () => {
  await page.goto(server.url + '/group/api-access');
  await page.locator('#cred-name').fill('billing export');
  await page.getByRole('checkbox', { name: 'READER' }).check();
  await page.getByRole('button', { name: 'Create credential' }).click();
  await page.getByText(/it is shown this once and cannot be shown again/).waitFor();
  const login = await page.getByTestId('login').innerText();
  const password = await page.getByTestId('password').innerText();
  assert.match(login, /^[0-9a-f]{24}$/);
  assert.ok(password.length >= 24);
  assert.ok(await page.getByRole('button', { name: 'Copy password' }).isVisible());
  await assertAccessible(page, 'api access, new credential');
  await screenshot(page, 'group-api-access');
  await assertReflows(page, 'api access');

  // The credential works as shown.
  const basic = Api.basicAuth(server.url, login, password);
  await basic.call('GET', '/api/devicetypes');

  // Not shown again: after a reload only the list remains.
  await page.reload();
  const table = page.getByRole('table', { name: /API users of/ });
  await table.getByText('billing export').waitFor();
  assert.equal(await page.getByText(password).count(), 0);
  assert.equal(await page.getByTestId('password').count(), 0);

  await table.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('button', { name: 'Yes, delete' }).click();
  await table.getByText('No API credential in this group.').waitFor();
  await basic.call('GET', '/api/devicetypes', undefined, { expect: 401 });
});

test('a READER sees the group without edit controls; forged changes are refused', async () => {
  await makePerson(admin, 'group-reader@example.com', ['READER']);
  const { context, page: rp } = await personPage(browser, server.url, 'group-reader@example.com');
  try {
    await rp.goto(server.url + '/group');
    await rp.getByRole('heading', { name: 'Information' }).waitFor();
    await rp.getByRole('heading', { name: 'Subgroups' }).waitFor();
    assert.equal(await rp.getByRole('button', { name: 'Save' }).count(), 0);
    assert.equal(await rp.getByRole('button', { name: 'Create subgroup' }).count(), 0);
    const menu = rp.getByRole('navigation', { name: 'Group sections' });
    assert.equal(await menu.getByRole('link', { name: 'API access' }).count(), 0);
    assert.equal(await menu.getByRole('link', { name: 'Associated users' }).count(), 0);
    await assertAccessible(rp, 'group as reader');
    await rp.goto(server.url + '/group/events');
    await rp.getByRole('heading', { name: 'Event configuration', exact: true }).waitFor();
    assert.equal(await rp.getByRole('button', { name: 'Add' }).count(), 0);
    assert.ok((await rowCount(rp.getByRole('table'))) >= 0);
    assert.equal(await forge(rp, 'POST', '/api/groups/edit', { id: root, name: 'Mine now' }), 403);
    assert.equal(await forge(rp, 'POST', '/api/api-users/create', { name: 'x', roles: ['ADMIN'] }), 403);
    assert.equal(await forge(rp, 'POST', `/api/groups/${root}/events/config/new`, { kinds: ['COMMUNICATION_LOSS'], emails: ['a@example.com'] }), 403);
  } finally {
    await context.close();
  }
});
