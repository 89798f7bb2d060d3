// The frame of every page after login: a skip link, the main menu, who is
// logged in, and the page itself in <main>.
import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { navigate, useLocation } from '../lib/router';
import { isAdmin, logout, useSession } from '../lib/session';

const sections = [
  { href: '/', label: 'Home', exact: true },
  { href: '/devices', label: 'Devices' },
  { href: '/devicetypes', label: 'Device types' },
  { href: '/series/new', label: 'New series', manage: true },
  { href: '/users', label: 'Users', admin: true },
  { href: '/group', label: 'Group' },
  { href: '/provisioning', label: 'Provisioning', provisioning: true },
];

export function Layout({ title, children }: { title: string; children: ComponentChildren }) {
  const { user, config } = useSession();
  const { path } = useLocation();
  useEffect(() => {
    document.title = `${title} · Roost`;
  }, [title]);
  return (
    <div class="app">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/">
          Roost
        </a>
        <nav aria-label="Main">
          <ul>
            {sections
              .filter((s) => (!s.admin || isAdmin()) && (!s.provisioning || config.provisioning !== false))
              .filter((s) => !s.manage || user?.roles.some((r) => r === 'ADMIN' || r === 'DEVICE_MANAGER' || r === 'FACTORY'))
              .map((s) => {
                const current = s.exact ? path === s.href : path === s.href || path.startsWith(s.href + '/');
                return (
                  <li key={s.href}>
                    <a href={s.href} aria-current={current ? 'page' : undefined}>
                      {s.label}
                    </a>
                  </li>
                );
              })}
          </ul>
        </nav>
        <div class="who">
          <a href="/account" title="Your account">
            {user?.email}
          </a>
          <button
            type="button"
            class="link"
            onClick={async () => {
              await logout().catch(() => {});
              navigate('/login');
            }}
          >
            Log out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <h1>{title}</h1>
        {children}
      </main>
    </div>
  );
}

// A page with a left menu of sections (device, device type, group).
export function SideMenu({ items, current, label }: { items: { href: string; label: string; key: string }[]; current: string; label: string }) {
  return (
    <nav class="side" aria-label={label}>
      <ul>
        {items.map((i) => (
          <li key={i.key}>
            <a href={i.href} aria-current={i.key === current ? 'page' : undefined}>
              {i.label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
