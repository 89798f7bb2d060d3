// Users pages in a real browser against a real roost serve: the list, a new
// user (roles explained, the invitation's outcome, a field error), editing
// with the admin's own password, invite again, delete (never oneself), and a
// READER who sees none of it and whose forged requests are refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_EMAIL, ADMIN_PASSWORD, Api, assertAccessible, downloadOf, launchBrowser, loginPage, screenshot, startRoost } from './support.mjs';
import { assertReflows, forge, makePerson, personPage } from './fixtures.mjs';

let server;
let browser;
let admin;
let page;

before(async () => {
  server = await startRoost();
  browser = await launchBrowser();
  admin = await Api.login(server.url);
  page = await browser.newPage();
  await loginPage(page, server.url);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the users list shows the admin, with a CSV export', async () => {
  await page.goto(server.url + '/users');
  await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
  await page.getByRole('link', { name: ADMIN_EMAIL, exact: true }).last().waitFor();
  assert.ok(await page.getByRole('button', { name: 'Export CSV' }).isVisible());
  const csv = await downloadOf(page, () => page.getByRole('button', { name: 'Export CSV' }).click());
  assert.equal(csv.name, 'users.csv');
  assert.ok(csv.text.split('\r\n')[0].startsWith('Email,Name'), csv.text.slice(0, 80));
  assert.ok(csv.text.includes(ADMIN_EMAIL), csv.text.slice(0, 200));
  await assertAccessible(page, 'users list');
  await screenshot(page, 'users-list');
  await assertReflows(page, 'users list');
});

test('a new user: roles explained, the email not sent and why, a taken email next to its field', async () => {
  await page.goto(server.url + '/users');
  await page.getByRole('link', { name: 'New user' }).click();
  await page.getByRole('heading', { name: 'New user' }).waitFor();
  // Each role says what it may do.
  for (const role of ['ADMIN', 'DEVICE_MANAGER', 'READER', 'FACTORY', 'STATION']) {
    assert.ok(await page.getByRole('checkbox', { name: role, exact: true }).isVisible(), role);
  }
  assert.match(await page.getByText(/Imports device credentials/).innerText(), /cannot read device types/i);
  await assertAccessible(page, 'new user');
  await screenshot(page, 'user-new');

  await page.getByLabel('Email').fill('ann@example.com');
  await page.getByLabel('Name', { exact: true }).fill('Ann');
  await page.getByLabel('Timezone').fill('Europe/Paris');
  await page.getByRole('checkbox', { name: 'DEVICE_MANAGER' }).check();
  await page.getByRole('button', { name: 'Create and invite' }).click();
  const outcome = page.getByText(/The invitation email was not sent/);
  await outcome.waitFor();
  assert.match(await outcome.innerText(), /email is not configured on this server/);

  // The same email again in the same group: the server's 409 names `email`.
  await page.goto(server.url + '/users/new');
  await page.getByLabel('Email').fill('ann@example.com');
  await page.getByLabel('Name', { exact: true }).fill('Ann again');
  await page.getByRole('button', { name: 'Create and invite' }).click();
  const email = page.getByLabel('Email');
  await page.locator('#email-error').waitFor();
  assert.equal(await email.getAttribute('aria-invalid'), 'true');
  assert.ok((await page.locator('#email-error').innerText()).length > 0);
});

test('the users list filters on the server by name or email, kept in the URL', async () => {
  await page.goto(server.url + '/users');
  await page.getByRole('link', { name: ADMIN_EMAIL, exact: true }).last().waitFor();
  await page.getByLabel('Name or email contains').fill('ANN@EXAMPLE');
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().includes('/api/users?') && r.url().includes('text=ANN%40EXAMPLE')),
    page.getByRole('button', { name: 'Filter' }).click(),
  ]);
  assert.deepEqual((await response.json()).data.map((u) => u.email), ['ann@example.com']);
  const table = page.getByRole('table');
  await table.getByRole('link', { name: 'ann@example.com', exact: true }).waitFor();
  await table.getByRole('link', { name: ADMIN_EMAIL, exact: true }).waitFor({ state: 'detached' });
  assert.match(page.url(), /\/users\?text=ANN%40EXAMPLE$/);

  await page.getByLabel('Name or email contains').fill('nobody-has-this');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.getByText('No user matches these filters.').waitFor();
});

test('editing a user: name and roles, a password that needs the admin’s own, invite again, delete', async () => {
  const bob = await makePerson(admin, 'bob@example.com', ['READER']);
  await page.goto(server.url + '/users');
  await page.getByRole('link', { name: 'bob@example.com' }).click();
  await page.getByRole('heading', { name: 'User bob@example.com' }).waitFor();
  await assertAccessible(page, 'user edit');
  await screenshot(page, 'user-edit');
  await assertReflows(page, 'user edit');

  await page.getByLabel('Name', { exact: true }).fill('Robert');
  await page.getByRole('checkbox', { name: 'DEVICE_MANAGER' }).check();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText('Saved.').waitFor();
  const saved = await admin.call('GET', `/api/users/${bob.id}`);
  assert.equal(saved.name, 'Robert');
  assert.deepEqual(saved.roles.sort(), ['DEVICE_MANAGER', 'READER']);

  // Setting another user's password: a wrong own password is refused next to its field.
  await page.getByLabel('New password (12 characters or more)').fill('bobs-new-password-123');
  await page.getByLabel('Your own current password').fill('not-my-password-at-all');
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.locator('#currentPassword-error').waitFor();
  await page.getByLabel('Your own current password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.getByText(/The password is set/).waitFor();
  await Api.login(server.url, 'bob@example.com', 'bobs-new-password-123');

  // Invite again on a server without SMTP: the server's reason is shown.
  await page.getByRole('button', { name: 'Invite again' }).click();
  await page.getByText(/email is not configured/).first().waitFor();

  // Delete asks first.
  await page.getByRole('button', { name: 'Delete user' }).click();
  await page.getByText('Delete bob@example.com?', { exact: false }).waitFor();
  await page.getByRole('button', { name: 'Yes, delete' }).click();
  await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
  await admin.call('GET', `/api/users/${bob.id}`, undefined, { expect: 404 });
});

test('no delete button on one’s own page', async () => {
  const me = await admin.call('GET', '/api/session');
  await page.goto(server.url + `/users/${me.user.id}`);
  await page.getByRole('heading', { name: `User ${ADMIN_EMAIL}` }).waitFor();
  await page.getByRole('button', { name: 'Invite again' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Delete user' }).count(), 0);
  assert.ok(await page.getByText('You cannot delete yourself.').isVisible());
});

test('a READER sees no users and a forged request from its session is refused', async () => {
  await makePerson(admin, 'reader@example.com', ['READER']);
  const { context, page: rp } = await personPage(browser, server.url, 'reader@example.com');
  try {
    assert.equal(await rp.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).count(), 0);
    await rp.goto(server.url + '/users');
    await rp.getByText('Only administrators manage users.').waitFor();
    assert.equal(await rp.getByRole('link', { name: 'New user' }).count(), 0);
    assert.equal(await rp.locator('table').count(), 0);
    await assertAccessible(rp, 'users as reader');
    assert.equal(await forge(rp, 'POST', '/api/users/create', { email: 'x@example.com', name: 'x', timezone: 'UTC', roles: ['ADMIN'] }), 403);
    assert.equal(await forge(rp, 'GET', '/api/users'), 403);
  } finally {
    await context.close();
  }
});
