// Loads a heavy component (maps, charts) only when a page shows it, so that
// the device list and the other pages do not download Leaflet or uPlot.
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export function lazyComponent<P extends object>(load: () => Promise<(p: P) => JSX.Element>) {
  let cached: ((p: P) => JSX.Element) | null = null;
  return function Lazy(p: P) {
    const [C, setC] = useState<((p: P) => JSX.Element) | null>(() => cached);
    useEffect(() => {
      if (!C) {
        load().then((c) => {
          cached = c;
          setC(() => c);
        });
      }
    }, []);
    return C ? <C {...p} /> : <p class="muted">Loading…</p>;
  };
}
