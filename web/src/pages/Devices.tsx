// The device list: filters kept in the URL (links and reloads keep them),
// server-side keyset paging, a remembered column chooser, CSV export.
import { useState } from 'preact/hooks';
import { DataTable, type Column } from '../components/DataTable';
import { Input, Select } from '../components/form';
import { Layout } from '../components/Layout';
import { dateTime } from '../lib/format';
import { groupLabel, useGroups } from '../lib/groups';
import { useDeviceTypes } from '../lib/lookups';
import { navigate, useLocation } from '../lib/router';

export interface Device {
  id: string;
  name: string;
  type: { id: string };
  group: { id: string };
  state: number;
  last?: number | null;
  averageSnr?: number | null;
  averageRssi?: number | null;
  sequenceNumber?: number | null;
  lat?: number | null;
  lng?: number | null;
  activationTime?: number | null;
  creationTime?: number;
  pac?: string;
  productCertificate?: { key: string } | null;
  tokenRenewForbidden?: boolean;
  devEui?: string | null;
}

export const STATES = ['OK', 'DEAD', 'OFF_CONTRACT', 'DISABLED', 'WARN', 'DELETED', 'SUSPENDED', 'NOT_ACTIVABLE'];

const FILTERS = ['idPrefix', 'namePrefix', 'deviceTypeId', 'groupId', 'state', 'lastSeenSince', 'lastSeenBefore'];

// <input type="date"> gives a day; the API takes epoch milliseconds.
function dayToMs(day: string): string {
  const t = Date.parse(day + 'T00:00:00Z');
  return Number.isNaN(t) ? '' : String(t);
}
function msToDay(ms: string | null): string {
  if (!ms) return '';
  const d = new Date(Number(ms));
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().slice(0, 10);
}

export function deviceColumns(typeNames: Map<string, string>): Column<Device>[] {
  return [
    { key: 'id', label: 'ID', render: (d) => <a href={`/devices/${d.id}`}>{d.id}</a> },
    { key: 'name', label: 'Name' },
    {
      key: 'type.id',
      label: 'Device type',
      render: (d) => <a href={`/devicetypes/${d.type.id}`}>{typeNames.get(d.type.id) ?? d.type.id}</a>,
      csv: (d) => typeNames.get(d.type.id) ?? d.type.id,
    },
    { key: 'state', label: 'State', render: (d) => STATES[d.state] ?? String(d.state), csv: (d) => STATES[d.state] ?? String(d.state) },
    { key: 'last', label: 'Last seen', render: (d) => dateTime(d.last), csv: (d) => dateTime(d.last) },
    { key: 'averageSnr', label: 'Average SNR' },
    { key: 'averageRssi', label: 'Average RSSI' },
    { key: 'sequenceNumber', label: 'Sequence number', hidden: true },
    { key: 'group.id', label: 'Group', hidden: true },
    { key: 'lat', label: 'Latitude', hidden: true },
    { key: 'lng', label: 'Longitude', hidden: true },
    { key: 'productCertificate.key', label: 'Certificate', hidden: true },
    { key: 'activationTime', label: 'Activated', hidden: true, render: (d) => dateTime(d.activationTime), csv: (d) => dateTime(d.activationTime) },
    { key: 'creationTime', label: 'Registered', hidden: true, render: (d) => dateTime(d.creationTime), csv: (d) => dateTime(d.creationTime) },
    { key: 'pac', label: 'PAC', hidden: true },
    { key: 'devEui', label: 'DevEUI', hidden: true },
  ];
}

export function Devices() {
  const { query } = useLocation();
  const types = useDeviceTypes();
  const { groups } = useGroups();
  const [form, setForm] = useState<Record<string, string>>(() => Object.fromEntries(FILTERS.map((f) => [f, query.get(f) ?? ''])));
  const applied: Record<string, string> = Object.fromEntries(FILTERS.map((f) => [f, query.get(f) ?? '']).filter(([, v]) => v));
  const typeNames = new Map(types.map((t) => [t.id, t.name]));
  const set = (k: string) => (v: string) => setForm({ ...form, [k]: v });

  function apply(e: Event) {
    e.preventDefault();
    const q = new URLSearchParams(Object.entries(form).filter(([, v]) => v));
    navigate('/devices' + (q.toString() ? `?${q}` : ''));
  }

  return (
    <Layout title="Devices">
      <form class="filters" onSubmit={apply} role="search" aria-label="Filter devices">
        <Input id="f-idPrefix" label="ID starts with" value={form.idPrefix} onValue={set('idPrefix')} placeholder="e.g. 41A2" />
        <Input id="f-namePrefix" label="Name starts with" value={form.namePrefix} onValue={set('namePrefix')} />
        <Select id="f-deviceTypeId" label="Device type" value={form.deviceTypeId} onValue={set('deviceTypeId')} options={[{ value: '', label: 'Any' }, ...types.map((t) => ({ value: t.id, label: t.name }))]} />
        <Select id="f-groupId" label="Group" value={form.groupId} onValue={set('groupId')} options={[{ value: '', label: 'Any' }, ...groups.map((g) => ({ value: g.id, label: groupLabel(g, groups) }))]} />
        <Select id="f-state" label="State" value={form.state} onValue={set('state')} options={[{ value: '', label: 'Any' }, ...STATES.map((s) => ({ value: s, label: s }))]} />
        <Input id="f-lastSeenSince" label="Last seen from" type="date" value={msToDay(form.lastSeenSince)} onValue={(v) => set('lastSeenSince')(dayToMs(v))} />
        <Input id="f-lastSeenBefore" label="Last seen before" type="date" value={msToDay(form.lastSeenBefore)} onValue={(v) => set('lastSeenBefore')(dayToMs(v))} />
        <div class="field">
          <button type="submit">Filter</button>
        </div>
      </form>
      <DataTable<Device> id="devices" title="Devices" path="/api/devices" query={applied} columns={deviceColumns(typeNames)} rowKey={(d) => d.id} empty="No device matches." />
    </Layout>
  );
}
