// History-API routing: the server answers every console path with index.html,
// so deep links (a device's messages, the set-password link) open directly.
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set<() => void>();

export function navigate(to: string, replace = false): void {
  if (to === location.pathname + location.search + location.hash) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  listeners.forEach((f) => f());
  window.scrollTo(0, 0);
}

window.addEventListener('popstate', () => listeners.forEach((f) => f()));

export interface Location {
  path: string;
  query: URLSearchParams;
}

export function useLocation(): Location {
  const [, setTick] = useState(0);
  useEffect(() => {
    const f = () => setTick((t) => t + 1);
    listeners.add(f);
    return () => {
      listeners.delete(f);
    };
  }, []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

// Matches "/devices/:id/:tab?" against a path; the params are decoded.
export function match(pattern: string, path: string): Record<string, string> | null {
  const ps = pattern.split('/').filter(Boolean);
  const xs = path.split('/').filter(Boolean);
  const out: Record<string, string> = {};
  let i = 0;
  for (; i < ps.length; i++) {
    const p = ps[i];
    const optional = p.endsWith('?');
    const name = optional ? p.slice(1, -1) : p.slice(1);
    if (i >= xs.length) {
      if (optional) continue;
      return null;
    }
    if (p.startsWith(':')) {
      try {
        out[name] = decodeURIComponent(xs[i]);
      } catch {
        return null;
      }
    } else if (p !== xs[i]) {
      return null;
    }
  }
  return xs.length <= ps.length ? out : null;
}

// Links are real <a href> (open in a new tab, keyboard and screen readers as
// usual) whose plain left click is routed in the page.
export function onLinkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as HTMLElement).closest('a');
  if (!a || a.target || a.hasAttribute('download')) return;
  const href = a.getAttribute('href');
  if (!href || !href.startsWith('/') || href.startsWith('/api/')) return;
  e.preventDefault();
  navigate(href);
}
