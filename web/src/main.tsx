// The Roost console: one page application served by `roost serve` at /.
import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import { Account } from './pages/Account';
import { DevicePage } from './pages/Device';
import { Devices } from './pages/Devices';
import { DeviceTypePage } from './pages/DeviceType';
import { DeviceTypes } from './pages/DeviceTypes';
import { GroupPage } from './pages/Group';
import { Home } from './pages/Home';
import { Login } from './pages/Login';
import { Provisioning } from './pages/Provisioning';
import { Series } from './pages/Series';
import { SetPassword } from './pages/SetPassword';
import { UserEdit, UserNew, Users } from './pages/Users';
import { NotFound } from './pages/NotFound';
import { match, navigate, onLinkClick, useLocation } from './lib/router';
import { loadSession, useSession } from './lib/session';
import './styles.css';

type Page = (params: Record<string, string>) => preact.JSX.Element;

// Most specific first.
const routes: [string, Page][] = [
  ['/', () => <Home />],
  ['/account', () => <Account />],
  ['/devices', () => <Devices />],
  ['/devices/:id/:tab?', (p) => <DevicePage id={p.id} tab={p.tab ?? 'information'} />],
  ['/devicetypes', () => <DeviceTypes />],
  ['/devicetypes/:id/:tab?/:sub?', (p) => <DeviceTypePage id={p.id} tab={p.tab ?? 'information'} sub={p.sub} />],
  ['/series/new', () => <Series mode="new" />],
  ['/series/edit', () => <Series mode="edit" />],
  ['/users', () => <Users />],
  ['/users/new', () => <UserNew />],
  ['/users/:id', (p) => <UserEdit id={p.id} />],
  ['/group/:tab?', (p) => <GroupPage tab={p.tab ?? 'information'} />],
  ['/groups/:id/:tab?', (p) => <GroupPage id={p.id} tab={p.tab ?? 'information'} />],
  ['/provisioning/:tab?', (p) => <Provisioning tab={p.tab ?? 'ids'} />],
];

const publicPages: [string, () => preact.JSX.Element][] = [
  ['/login', () => <Login />],
  ['/set-password', () => <SetPassword />],
  ['/console/set-password', () => <SetPassword />],
];

function App() {
  const { user, loaded } = useSession();
  const { path } = useLocation();
  useEffect(() => {
    document.addEventListener('click', onLinkClick);
    return () => document.removeEventListener('click', onLinkClick);
  }, []);
  // Move focus to the new page's heading so keyboard and screen-reader users
  // start there, as after a full page load.
  useEffect(() => {
    const h = document.querySelector('main h1') as HTMLElement | null;
    if (h && document.activeElement === document.body) {
      h.setAttribute('tabindex', '-1');
      h.focus({ preventScroll: true });
    }
  }, [path]);

  for (const [pattern, page] of publicPages) {
    if (match(pattern, path)) return page();
  }
  if (!loaded) return <p class="loading">Loading…</p>;
  if (!user) {
    const next = path === '/' ? '' : `?next=${encodeURIComponent(path + location.search)}`;
    navigate('/login' + next, true);
    return <Login />;
  }
  for (const [pattern, page] of routes) {
    const params = match(pattern, path);
    if (params) return page(params);
  }
  return <NotFound />;
}

loadSession().finally(() => render(<App />, document.getElementById('app')!));
