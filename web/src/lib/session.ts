// Who is logged in. The session itself is the HttpOnly cookie; the console
// keeps only the user and the CSRF token, read again from GET /api/session
// after a reload.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, post, request, setCsrfToken, setUnauthorizedHandler } from './api';

export interface User {
  id: string;
  email: string;
  name: string;
  timezone: string;
  group: { id: string };
  roles: string[];
}

export interface ConsoleConfig {
  version?: string;
  tileUrl?: string | null;
  provisioning?: boolean;
}

interface State {
  user: User | null;
  loaded: boolean;
  config: ConsoleConfig;
}

let state: State = { user: null, loaded: false, config: {} };
const listeners = new Set<() => void>();

function set(s: Partial<State>): void {
  state = { ...state, ...s };
  listeners.forEach((f) => f());
}

setUnauthorizedHandler(() => {
  if (state.user) set({ user: null });
});

export function useSession(): State {
  const [, setTick] = useState(0);
  useEffect(() => {
    const f = () => setTick((t) => t + 1);
    listeners.add(f);
    return () => {
      listeners.delete(f);
    };
  }, []);
  return state;
}

export function session(): State {
  return state;
}

export async function loadSession(): Promise<void> {
  // Both at once: the first page waits for them before it renders.
  const configP = get<ConsoleConfig>('/api/console/config').catch(() => ({}));
  const sessionP = get<{ csrfToken?: string; user?: User }>('/api/session').catch((e) => {
    if (!(e instanceof ApiError) || e.status !== 401) console.warn(e);
    return {} as { csrfToken?: string; user?: User };
  });
  const [config, s] = await Promise.all([configP, sessionP]);
  if (s.user && s.csrfToken) {
    setCsrfToken(s.csrfToken);
    set({ user: s.user, loaded: true, config });
    return;
  }
  set({ user: null, loaded: true, config });
}

export interface LoginResult {
  groups?: { id: string; name: string }[];
}

export async function login(email: string, password: string, group?: string): Promise<LoginResult> {
  try {
    const r = await request<{ csrfToken: string; user: User }>('POST', '/api/session/login', {
      body: group ? { email, password, group } : { email, password },
      quiet401: true,
    });
    setCsrfToken(r.csrfToken);
    set({ user: r.user });
    return {};
  } catch (e) {
    if (e instanceof ApiError && e.status === 409 && Array.isArray(e.body.groups)) {
      return { groups: e.body.groups as { id: string; name: string }[] };
    }
    throw e;
  }
}

export async function logout(): Promise<void> {
  try {
    await post('/api/session/logout');
  } finally {
    setCsrfToken('');
    set({ user: null });
  }
}

export function hasRole(...roles: string[]): boolean {
  return !!state.user && state.user.roles.some((r) => roles.includes(r));
}

// May change devices, device types and callbacks.
export const canManage = () => hasRole('ADMIN', 'DEVICE_MANAGER');
export const isAdmin = () => hasRole('ADMIN');
