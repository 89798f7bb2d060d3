// The messages of a device or a device type, newest first, with their decoded
// fields, signal, location, callback deliveries and downlink — kept live by
// the server's event stream (…/messages/live) while the first page is shown.
import { useEffect, useState } from 'preact/hooks';
import { dateTime } from '../lib/format';
import { DataTable, type Column } from './DataTable';

export interface Message {
  device: string;
  deviceTypeId: string;
  time: number;
  seqNumber: number;
  data: string;
  station: string;
  snr: string;
  rssi: number;
  nbFrames: number;
  linkQuality?: string;
  ack?: boolean;
  computedLocation?: { lat: number; lng: number; radius: number } | null;
  decoded?: unknown;
  rinfos?: { tap: string; lat?: number; lng?: number; rssi: number; snr: number }[];
  callbacks?: { callbackId: string | null; state: string; attempts: number; status?: number | null; info?: string }[];
  downlinkAnswerStatus?: { data: string | null; station: string | null; acknowledged: boolean | null; reason?: string } | null;
}

function decodedText(d: unknown): string {
  if (d === null || d === undefined) return '';
  if (typeof d === 'string') return d;
  return Object.entries(d as Record<string, unknown>)
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}

function downlinkText(m: Message): string {
  const s = m.downlinkAnswerStatus;
  if (!s) return m.ack ? 'asked' : '';
  if (!s.data) return `none${s.reason ? ': ' + s.reason : ''}`;
  const ack = s.acknowledged === null ? 'not acknowledged yet' : s.acknowledged ? 'acknowledged' : 'not acknowledged';
  return `${s.data} via ${s.station} (${ack})`;
}

export function Messages({ base, showDevice }: { base: string; showDevice?: boolean }) {
  const [reload, setReload] = useState(0);
  const [live, setLive] = useState<'connecting' | 'on' | 'off'>('connecting');
  const [news, setNews] = useState(0);
  useEffect(() => {
    if (typeof EventSource === 'undefined') {
      setLive('off');
      return;
    }
    const es = new EventSource(`${base}/messages/live`);
    es.onopen = () => setLive('on');
    es.addEventListener('message', () => {
      setNews((n) => n + 1);
      setReload((r) => r + 1);
    });
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) setLive('off');
    };
    return () => es.close();
  }, [base]);

  const columns: Column<Message>[] = [
    { key: 'time', label: 'Time', render: (m) => dateTime(m.time), csv: (m) => dateTime(m.time) },
    ...(showDevice ? [{ key: 'device', label: 'Device', render: (m: Message) => <a href={`/devices/${m.device}`}>{m.device}</a> }] : []),
    { key: 'seqNumber', label: 'Seq.' },
    { key: 'data', label: 'Data', render: (m) => <code>{m.data}</code> },
    { key: 'decoded', label: 'Decoded', render: (m) => decodedText(m.decoded), csv: (m) => decodedText(m.decoded) },
    {
      key: 'computedLocation',
      label: 'Location',
      render: (m) => (m.computedLocation ? `${m.computedLocation.lat}, ${m.computedLocation.lng} (± ${Math.round(m.computedLocation.radius)} m)` : ''),
      csv: (m) => (m.computedLocation ? `${m.computedLocation.lat} ${m.computedLocation.lng} ${m.computedLocation.radius}` : ''),
    },
    { key: 'station', label: 'Station' },
    { key: 'snr', label: 'SNR (dB)' },
    { key: 'rssi', label: 'RSSI (dBm)' },
    { key: 'nbFrames', label: 'Stations' },
    { key: 'linkQuality', label: 'Link quality', hidden: true },
    {
      key: 'callbacks',
      label: 'Callbacks',
      render: (m) => (
        <ul class="plain">
          {(m.callbacks ?? []).map((c, i) => (
            // Not keyed by callbackId: a sendDuplicate callback has one delivery per
            // station, and another group's callbacks have none.
            <li key={i}>
              <span class={`badge ${c.state}`} title={c.info ?? ''}>
                {c.state}
                {c.status ? ` ${c.status}` : ''}
              </span>
            </li>
          ))}
        </ul>
      ),
      csv: (m) => (m.callbacks ?? []).map((c) => `${c.state}${c.status ? ' ' + c.status : ''}`).join(' '),
    },
    { key: 'downlinkAnswerStatus', label: 'Downlink / ACK', render: downlinkText, csv: downlinkText },
  ];

  return (
    <section aria-label="Messages">
      <p class="muted" role="status" aria-live="polite">
        {live === 'on' ? 'Live: new messages appear as they arrive.' : live === 'off' ? 'Live updates are off; reload to see new messages.' : ''}
        {news > 0 && ` ${news} new message${news > 1 ? 's' : ''} since this page opened.`}
      </p>
      <DataTable<Message> id={showDevice ? 'type-messages' : 'messages'} title="Messages" path={`${base}/messages`} reloadKey={reload} columns={columns} rowKey={(m) => `${m.device}-${m.time}-${m.seqNumber}`} empty="No message yet." />
    </section>
  );
}

// The events (errors and warnings) of a device or a device type.
export function Events({ base }: { base: string }) {
  const cols: Column<{ id: string; device: string; kind: string; severity: string; message: string; time: number }>[] = [
    { key: 'time', label: 'Time', render: (e) => dateTime(e.time), csv: (e) => dateTime(e.time) },
    { key: 'device', label: 'Device', render: (e) => <a href={`/devices/${e.device}`}>{e.device}</a> },
    { key: 'severity', label: 'Severity' },
    { key: 'kind', label: 'Kind' },
    { key: 'message', label: 'Message' },
  ];
  return (
    <>
      <h2>Errors</h2>
      <DataTable id="events-error" title="Errors" path={`${base}/status/error`} columns={cols} rowKey={(e) => e.id} empty="No error." />
      <h2>Warnings</h2>
      <DataTable id="events-warn" title="Warnings" path={`${base}/status/warn`} columns={cols} rowKey={(e) => e.id} empty="No warning." />
    </>
  );
}
