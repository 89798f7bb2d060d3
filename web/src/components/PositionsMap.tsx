// A device type's devices on a map, however many: the server lists them one by
// one while they are few enough, else counts them in the cells of a grid over
// the area in view (GET /api/devicetypes/{id}/positions). Each move of the map
// asks again for what is in view, so zooming into a cell shows its devices.
import 'leaflet/dist/leaflet.css';
import L from 'leaflet';
import { useEffect, useRef, useState } from 'preact/hooks';
import { get } from '../lib/api';
import { textNode } from '../lib/dom';
import { session } from '../lib/session';

interface Area {
  south: number;
  west: number;
  north: number;
  east: number;
}

interface Positions {
  total: number;
  bounds: Area | null;
  devices: { id: string; name: string; lat: number; lng: number }[];
  cells: (Area & { count: number; lat: number; lng: number })[];
}

// Listed one by one up to this many (a canvas draws them at ease), counted in
// cells past it.
export const MAX_LISTED = 1000;
const MAX_LISTED_CLOSEST = 5000; // at the closest zoom, where a cell cannot be split further
const MAX_ZOOM = 18;
const GRID = 16;

const clamp = (v: number, limit: number) => Math.max(-limit, Math.min(limit, v));

// The map's view as an area the server takes: within the world's edges; a view
// across the 180th meridian (or wider than the world) asks for every longitude.
function viewArea(map: L.Map): Area {
  const b = map.getBounds();
  let west = b.getWest();
  let east = b.getEast();
  if (east - west >= 360 || west < -180 || east > 180) {
    west = -180;
    east = 180;
  }
  return { south: clamp(b.getSouth(), 90), west, north: clamp(b.getNorth(), 90), east };
}

function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}

export function PositionsMap({ typeId }: { typeId: string }) {
  const el = useRef<HTMLDivElement>(null);
  const [all, setAll] = useState<Positions | null>(null); // the whole type, at first
  const [view, setView] = useState<Positions | null>(null); // what is in view now
  const [error, setError] = useState('');
  const path = `/api/devicetypes/${encodeURIComponent(typeId)}/positions`;

  useEffect(() => {
    if (!el.current) return;
    setAll(null);
    setView(null);
    setError('');
    const map = L.map(el.current, { attributionControl: false, keyboard: true, preferCanvas: true, maxZoom: MAX_ZOOM });
    L.control.scale({ imperial: false }).addTo(map);
    const tiles = session().config.tileUrl;
    if (tiles) L.tileLayer(tiles, { maxZoom: MAX_ZOOM }).addTo(map);
    const layer = L.layerGroup().addTo(map);
    let asked = 0; // answers to an earlier view than the latest are dropped
    let closed = false;
    let moved: ReturnType<typeof setTimeout> | undefined;

    const draw = (p: Positions) => {
      layer.clearLayers();
      for (const d of p.devices) {
        L.circleMarker([d.lat, d.lng], { radius: 7, color: '#0b5cad', weight: 2, fillOpacity: 0.8 })
          .bindTooltip(textNode(`${d.name} (${d.id})`))
          .addTo(layer);
      }
      for (const c of p.cells) {
        const text = c.count.toLocaleString('en');
        const size = 22 + 7 * text.length; // the count fits inside the disc
        const icon = L.divIcon({ className: 'map-cell', html: textNode(text), iconSize: [size, size] });
        L.marker([c.lat, c.lng], { icon, keyboard: true, title: plural(c.count, 'device', 'devices') })
          // The cell's own devices fill the view (at most the closest zoom, where
          // up to 5 000 are listed: devices that share one spot stay reachable).
          .on('click', () => map.fitBounds([[c.south, c.west], [c.north, c.east]], { maxZoom: MAX_ZOOM }))
          .addTo(layer);
      }
    };
    const ask = (query: Record<string, number>) => {
      const mine = ++asked;
      const maxListed = map.getZoom() >= MAX_ZOOM ? MAX_LISTED_CLOSEST : MAX_LISTED;
      return get<Positions>(path, { maxListed, grid: GRID, ...query }).then(
        (p) => {
          if (closed || mine !== asked) return null;
          setError('');
          setView(p);
          draw(p);
          return p;
        },
        (e) => {
          if (!closed && mine === asked) setError(e instanceof Error ? e.message : String(e));
          return null;
        },
      );
    };

    // First the whole type (its bounds place the map), then whatever is in
    // view, asked for once the map has stopped moving for a moment.
    ask({}).then((p) => {
      if (closed) return;
      if (p) setAll(p); // else the error shows, and no count is made up
      if (p?.bounds) {
        map.fitBounds(
          L.latLngBounds([p.bounds.south, p.bounds.west], [p.bounds.north, p.bounds.east]).pad(0.3),
          { maxZoom: 14, animate: false },
        );
      } else {
        map.setView([20, 0], 1);
      }
      map.on('moveend', () => {
        clearTimeout(moved);
        moved = setTimeout(() => void ask({ ...viewArea(map) }), 250);
      });
    });
    return () => {
      closed = true;
      clearTimeout(moved);
      map.remove();
    };
  }, [path]);

  const shown = view ?? all;
  return (
    <figure>
      <div ref={el} class="map" role="region" aria-label="Map of the type's devices" />
      <figcaption>
        {error && <p class="error" role="alert">{error}</p>}
        {!all ? (
          !error && <p class="muted">Loading…</p>
        ) : (
          <p class="muted" id="t-map-count">
            {`${plural(all.total, 'device has', 'devices have')} a position.`}
            {shown && shown.cells.length > 0 &&
              ` ${plural(shown.total, 'is', 'are')} in view, counted in ${plural(shown.cells.length, 'area', 'areas')}: zoom in, or select an area, to see each device.`}
          </p>
        )}
        {all && all.total === 0 && <p class="muted">Nothing to show on the map yet.</p>}
        <table class="sr-table">
          <caption>Devices on the map</caption>
          <thead>
            <tr>
              <th scope="col">What</th>
              <th scope="col">Latitude</th>
              <th scope="col">Longitude</th>
            </tr>
          </thead>
          <tbody>
            {shown?.devices.map((d) => (
              <tr key={d.id}>
                <td>{`${d.name} (${d.id})`}</td>
                <td>{d.lat}</td>
                <td>{d.lng}</td>
              </tr>
            ))}
            {shown?.cells.map((c, i) => (
              <tr key={`c${i}`}>
                <td>{`${plural(c.count, 'device', 'devices')} between latitudes ${c.south} and ${c.north}, longitudes ${c.west} and ${c.east}`}</td>
                <td>{c.lat}</td>
                <td>{c.lng}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </figcaption>
    </figure>
  );
}
