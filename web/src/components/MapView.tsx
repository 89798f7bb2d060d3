// A map that works without internet: Leaflet draws positions, location
// circles and stations on a plain background; tiles are added only when the
// operator set a tile server (console.tile_url).
import 'leaflet/dist/leaflet.css';
import L from 'leaflet';
import { useEffect, useRef } from 'preact/hooks';
import { session } from '../lib/session';
import { textNode } from '../lib/dom';

export interface MapShape {
  kind: 'position' | 'computed' | 'station';
  lat: number;
  lng: number;
  radius?: number; // metres, for a computed location
  label: string;
}

const COLORS = { position: '#0b5cad', computed: '#b35c00', station: '#1a7f37' };

export function MapView({ shapes, label }: { shapes: MapShape[]; label: string }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    // Many points draw on one canvas rather than as an SVG element each.
    const map = L.map(el.current, { attributionControl: false, keyboard: true, preferCanvas: shapes.length > 500 });
    L.control.scale({ imperial: false }).addTo(map);
    const tiles = session().config.tileUrl;
    if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
    const layers: L.Layer[] = [];
    for (const s of shapes) {
      const color = COLORS[s.kind];
      if (s.kind === 'computed' && s.radius) {
        layers.push(L.circle([s.lat, s.lng], { radius: s.radius, color, weight: 2, fillOpacity: 0.12 }).bindTooltip(textNode(s.label)));
      }
      layers.push(
        L.circleMarker([s.lat, s.lng], { radius: s.kind === 'station' ? 5 : 7, color, weight: 2, fillOpacity: 0.8 }).bindTooltip(textNode(s.label)),
      );
    }
    layers.forEach((l) => l.addTo(map));
    if (shapes.length) {
      const bounds = L.latLngBounds(shapes.map((s) => [s.lat, s.lng] as [number, number]));
      map.fitBounds(bounds.pad(0.3), { maxZoom: 14 });
    } else {
      map.setView([20, 0], 1);
    }
    return () => map.remove();
  }, [JSON.stringify(shapes)]);
  return (
    <figure>
      <div ref={el} class="map" role="img" aria-label={label} />
      <figcaption>
        <ul class="legend">
          <li class="position">Set position</li>
          <li class="computed">Computed location (circle: radius)</li>
          <li class="station">Stations that heard the last messages</li>
        </ul>
        {shapes.length === 0 && <p class="muted">Nothing to show on the map yet.</p>}
        <table class="sr-table">
          <caption>Points on the map</caption>
          <thead>
            <tr>
              <th scope="col">What</th>
              <th scope="col">Latitude</th>
              <th scope="col">Longitude</th>
              <th scope="col">Radius (m)</th>
            </tr>
          </thead>
          <tbody>
            {shapes.map((s, i) => (
              <tr key={i}>
                <td>{s.label}</td>
                <td>{s.lat}</td>
                <td>{s.lng}</td>
                <td>{s.radius ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </figcaption>
    </figure>
  );
}
