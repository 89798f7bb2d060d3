// One device, with a left menu: Information (editable), Location, Messages
// (live), Events, Statistics, Event configuration.
import { useEffect, useState } from 'preact/hooks';
import { EventConfig } from '../components/EventConfig';
import { Checkbox, FormErrors, Input, Notice, fieldError } from '../components/form';
import { Layout, SideMenu } from '../components/Layout';
import { lazyComponent } from '../components/lazy';
import type { MapShape } from '../components/MapView';

import { Events, Messages, type Message } from '../components/Messages';
import { ApiError, get, post, type Page } from '../lib/api';
import { dateTime } from '../lib/format';
import { canManage } from '../lib/session';
import { STATES, type Device } from './Devices';

const MapView = lazyComponent<{ shapes: import('../components/MapView').MapShape[]; label: string }>(() => import('../components/MapView').then((m) => m.MapView));
const Statistics = lazyComponent<{ path: string }>(() => import('../components/Statistics').then((m) => m.Statistics));

const TABS = [
  ['information', 'Information'],
  ['location', 'Location'],
  ['messages', 'Messages'],
  ['events', 'Events'],
  ['statistics', 'Statistics'],
  ['event-configuration', 'Event configuration'],
];

export function DevicePage({ id, tab }: { id: string; tab: string }) {
  const [device, setDevice] = useState<Device | null>(null);
  const [error, setError] = useState('');
  const [reload, setReload] = useState(0);
  const base = `/api/devices/${encodeURIComponent(id)}`;
  useEffect(() => {
    get<Device>(base).then(setDevice, (e) => setError(e instanceof ApiError && e.status === 404 ? `There is no device ${id} you can see.` : e.message));
  }, [base, reload]);
  const label = TABS.find(([k]) => k === tab)?.[1] ?? 'Information';
  return (
    <Layout title={`Device ${device?.name ? `${device.name} (${id})` : id} · ${label}`}>
      {error && <Notice kind="error">{error}</Notice>}
      <div class="with-side">
        <SideMenu label="Device" current={tab} items={TABS.map(([k, l]) => ({ key: k, label: l, href: `/devices/${encodeURIComponent(id)}/${k}` }))} />
        <div class="content">
          {device && tab === 'information' && <Information device={device} onSaved={() => setReload(reload + 1)} />}
          {device && tab === 'location' && <Location device={device} />}
          {tab === 'messages' && <Messages base={base} />}
          {tab === 'events' && <Events base={base} />}
          {tab === 'statistics' && <Statistics path={`${base}/stats`} />}
          {tab === 'event-configuration' && <EventConfig base={base} />}
        </div>
      </div>
    </Layout>
  );
}

function Information({ device, onSaved }: { device: Device; onSaved: () => void }) {
  const [token, setToken] = useState<Record<string, unknown> | null>(null);
  const [network, setNetwork] = useState<Record<string, unknown> | null>(null);
  const [name, setName] = useState(device.name);
  const [lat, setLat] = useState(device.lat?.toString() ?? '');
  const [lng, setLng] = useState(device.lng?.toString() ?? '');
  const [cert, setCert] = useState(device.productCertificate?.key ?? '');
  const [renewForbidden, setRenewForbidden] = useState(!!device.tokenRenewForbidden);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const base = `/api/devices/${encodeURIComponent(device.id)}`;
  useEffect(() => {
    get<Record<string, unknown>>(`${base}/token-state`).then(setToken, () => {});
    get<Record<string, unknown>>(`${base}/networkstate`).then(setNetwork, () => {});
  }, [base]);

  async function save(e: Event) {
    e.preventDefault();
    setError(null);
    setSaved(false);
    const num = (s: string) => (s.trim() === '' ? null : Number(s));
    try {
      await post('/api/devices/edit', {
        id: device.id,
        name,
        lat: num(lat),
        lng: num(lng),
        productCertificate: cert.trim() === '' ? null : cert.trim(),
        tokenRenewForbidden: renewForbidden,
      });
      setSaved(true);
      onSaved();
    } catch (err) {
      setError(err);
    }
  }

  return (
    <>
      <dl class="props">
        <dt>ID</dt>
        <dd class="mono">{device.id}</dd>
        <dt>Device type</dt>
        <dd>
          <a href={`/devicetypes/${device.type.id}`}>{device.type.id}</a>
        </dd>
        <dt>State</dt>
        <dd>{STATES[device.state] ?? device.state}</dd>
        <dt>Last seen</dt>
        <dd>{dateTime(device.last) || 'never'}</dd>
        <dt>Sequence number</dt>
        <dd>{device.sequenceNumber ?? ''}</dd>
        <dt>Average SNR / RSSI</dt>
        <dd>
          {device.averageSnr ?? '–'} dB / {device.averageRssi ?? '–'} dBm
        </dd>
        <dt>Registered</dt>
        <dd>{dateTime(device.creationTime)}</dd>
        <dt>Token</dt>
        <dd>{token ? `${token.state as string} — ${token.detailMessage as string}${token.tokenEnd ? `, ends ${dateTime(token.tokenEnd as number)}` : ''}` : ''}</dd>
        <dt>Network</dt>
        <dd>{network ? `${network.networkStatus as string} — ${network.detailMessage as string}` : ''}</dd>
        {device.pac && (
          <>
            <dt>PAC</dt>
            <dd class="mono">{device.pac}</dd>
          </>
        )}
        {device.devEui && (
          <>
            <dt>DevEUI</dt>
            <dd class="mono">{device.devEui}</dd>
          </>
        )}
      </dl>
      {canManage() && (
        <form onSubmit={save} class="block narrow" noValidate>
          <h2>Edit</h2>
          {saved && <Notice kind="success">Saved.</Notice>}
          <FormErrors error={error} fields={['name', 'lat', 'lng', 'productCertificate', 'tokenRenewForbidden']} />
          <Input id="d-name" label="Name" value={name} onValue={setName} error={fieldError(error, 'name')} />
          <Input id="d-lat" label="Latitude (−90 to 90)" inputMode="decimal" value={lat} onValue={setLat} error={fieldError(error, 'lat')} />
          <Input id="d-lng" label="Longitude (−180 to 180)" inputMode="decimal" value={lng} onValue={setLng} error={fieldError(error, 'lng')} />
          <Input id="d-cert" label="Product certificate" placeholder="P_0004_D356_03" value={cert} onValue={setCert} error={fieldError(error, 'productCertificate')} />
          <Checkbox id="d-renew" label="Forbid automatic token renewal" checked={renewForbidden} onValue={setRenewForbidden} />
          <button type="submit">Save</button>
        </form>
      )}
    </>
  );
}

function Location({ device }: { device: Device }) {
  const [shapes, setShapes] = useState<MapShape[] | null>(null);
  useEffect(() => {
    const base = `/api/devices/${encodeURIComponent(device.id)}`;
    Promise.all([
      get<Page<{ lat: number; lng: number; radius: number; time: number }>>(`${base}/locations`, { limit: 1 }).catch(() => ({ data: [] })),
      get<Page<Message>>(`${base}/messages`, { limit: 20 }).catch(() => ({ data: [] as Message[] })),
    ]).then(([locs, msgs]) => {
      const out: MapShape[] = [];
      if (device.lat !== null && device.lat !== undefined && device.lng !== null && device.lng !== undefined) {
        out.push({ kind: 'position', lat: device.lat, lng: device.lng, label: 'Set position' });
      }
      const last = locs.data[0];
      if (last) out.push({ kind: 'computed', lat: last.lat, lng: last.lng, radius: last.radius, label: `Computed location at ${dateTime(last.time)} (± ${Math.round(last.radius)} m)` });
      const stations = new Map<string, MapShape>();
      for (const m of msgs.data) {
        for (const r of m.rinfos ?? []) {
          if (r.lat !== undefined && r.lng !== undefined && !stations.has(r.tap)) {
            stations.set(r.tap, { kind: 'station', lat: r.lat, lng: r.lng, label: `Station ${r.tap}` });
          }
        }
      }
      setShapes([...out, ...stations.values()]);
    });
  }, [device.id]);
  return shapes ? <MapView shapes={shapes} label={`Map of device ${device.id}`} /> : <p class="muted">Loading…</p>;
}
