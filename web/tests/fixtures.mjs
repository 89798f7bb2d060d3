// Set-up shared by the page tests: people with given roles (created through
// the API, their password set by the admin), and requests forged from a
// logged-in page (the session's own cookie and CSRF token), to check that the
// server refuses what the console does not offer.
import { execFileSync } from 'node:child_process';
import { ADMIN_PASSWORD, Api, ROOST_BIN, loginPage } from './support.mjs';

export const PERSON_PASSWORD = 'a-long-enough-person-password';

// Creates a person with `roles` in `group` (default the admin's) and a usable
// password; returns the user as the API renders it.
export async function makePerson(admin, email, roles, group) {
  const r = await admin.call('POST', '/api/users/create', { email, name: email.split('@')[0], timezone: 'UTC', roles, ...(group ? { group } : {}) });
  await admin.call('POST', '/api/users/edit', { id: r.id, password: PERSON_PASSWORD, currentPassword: ADMIN_PASSWORD });
  return admin.call('GET', `/api/users/${r.id}`);
}

// A fresh browser context logged in as that person.
export async function personPage(browser, url, email) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await loginPage(page, url, email, PERSON_PASSWORD);
  return { context, page };
}

// A request from the page's session, as a script on the page would send it
// (the cookie and the CSRF token of GET /api/session): the status answered.
export async function forge(page, method, path, body) {
  return page.evaluate(
    async ({ method, path, body }) => {
      const s = await (await fetch('/api/session')).json();
      const res = await fetch(path, {
        method,
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrfToken },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return res.status;
    },
    { method, path, body },
  );
}

export function roost(args) {
  return execFileSync(ROOST_BIN, args, { encoding: 'utf8' });
}

// The number of rows of a table's body (the "nothing to show" row excluded).
export async function rowCount(table) {
  return table.locator('tbody tr:not(:has(td.muted))').count();
}

export { Api };

// A multipart POST with the admin's session (fetch sets the boundary).
export async function postForm(api, path, form) {
  const res = await fetch(api.url + path, { method: 'POST', headers: { Cookie: api.cookie, 'X-CSRF-Token': api.csrf }, body: form });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${path} answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

// Readable at 200 % zoom: at half the width (1280 / 2 CSS pixels) the page
// reflows — nothing but a wide table's own scroller scrolls sideways.
export async function assertReflows(page, what) {
  const size = page.viewportSize();
  await page.setViewportSize({ width: 640, height: 900 });
  try {
    const over = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (over > 0) throw new Error(`${what}: at 200 % zoom the page is ${over} px wider than the window`);
  } finally {
    if (size) await page.setViewportSize(size);
  }
}
