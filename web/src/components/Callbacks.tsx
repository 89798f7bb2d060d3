// A device type's callbacks: the list (enable toggle, the downlink choice,
// edit, delete) and the form for a new or an edited one, for every channel and
// type, with the variables each kind may use.
import { useEffect, useState } from 'preact/hooks';
import { get, post } from '../lib/api';
import { navigate } from '../lib/router';
import { canManage } from '../lib/session';
import { DataTable } from './DataTable';
import { Checkbox, FormErrors, Input, Select, TextArea, fieldError } from './form';
import type { DeviceType } from '../pages/DeviceTypes';

interface Callback {
  id: string;
  channel: string;
  callbackType: number;
  callbackSubtype: number;
  url?: string;
  httpMethod?: string;
  headers?: Record<string, string>;
  contentType?: string;
  bodyTemplate?: string;
  linePattern?: string;
  recipient?: string;
  subject?: string;
  message?: string;
  sendDuplicate?: boolean;
  payloadConfig?: string;
  enabled: boolean;
  dead: boolean;
  downlinkHook: boolean;
}

const KINDS: Record<string, { type: number; subtype: number; label: string; vars: string }> = {
  'DATA UPLINK': { type: 0, subtype: 2, label: 'DATA UPLINK', vars: '' },
  'DATA BIDIR': { type: 0, subtype: 3, label: 'DATA BIDIR (may answer a downlink)', vars: '' },
  'SERVICE STATUS': { type: 1, subtype: 0, label: 'SERVICE STATUS', vars: '{temp} {batt}' },
  'SERVICE ACKNOWLEDGE': { type: 1, subtype: 4, label: 'SERVICE ACKNOWLEDGE', vars: '{downlinkAck}' },
  ERROR: { type: 2, subtype: 0, label: 'ERROR (communication loss)', vars: '{info} {severity}' },
};
const COMMON_VARS = '{device} {deviceTypeId} {time} {data} {seqNumber} {duplicate} {snr} {avgSnr} {avgSignal} {rssi} {station} {lat} {lng} {ack} {longPolling} {customData#field}';

function kindOf(c: Callback): string {
  // An ERROR callback has no subtype: the server lists it as -1.
  if (c.callbackType === 2) return 'ERROR';
  return Object.entries(KINDS).find(([, k]) => k.type === c.callbackType && k.subtype === c.callbackSubtype)?.[0] ?? `${c.callbackType}/${c.callbackSubtype}`;
}

export function Callbacks({ type }: { type: DeviceType }) {
  const [reload, setReload] = useState(0);
  const [error, setError] = useState('');
  const base = `/api/devicetypes/${type.id}/callbacks`;
  const manage = canManage();
  const act = (f: () => Promise<unknown>) => () =>
    f().then(
      () => setReload(reload + 1),
      (e) => setError(e.message),
    );
  return (
    <section aria-label="Callbacks">
      {manage && (
        <div class="actions">
          <a class="button" href={`/devicetypes/${type.id}/callbacks/new`}>
            New callback
          </a>
        </div>
      )}
      {error && (
        <div class="alert error" role="alert">
          {error}
        </div>
      )}
      <DataTable<Callback>
        id="callbacks"
        title="Callbacks"
        path={base}
        reloadKey={reload}
        rowKey={(c) => c.id}
        empty="No callback yet."
        columns={[
          { key: 'channel', label: 'Channel' },
          { key: 'kind', label: 'Type', render: kindOf, csv: kindOf },
          { key: 'target', label: 'Sends to', render: (c) => c.url ?? c.recipient ?? '', csv: (c) => c.url ?? c.recipient ?? '' },
          {
            key: 'enabled',
            label: 'Enabled',
            render: (c) =>
              manage ? (
                <label>
                  <input type="checkbox" checked={c.enabled} onChange={act(() => post(`${base}/${c.id}/enable`, {}, { enabled: String(!c.enabled) }))} /> <span class="sr-only">Enabled</span>
                  {c.enabled ? 'on' : 'off'}
                </label>
              ) : c.enabled ? (
                'on'
              ) : (
                'off'
              ),
            csv: (c) => String(c.enabled),
          },
          { key: 'dead', label: 'State', render: (c) => (c.dead ? <span class="badge dead">dead</span> : <span class="badge ok">alive</span>), csv: (c) => (c.dead ? 'dead' : 'alive') },
          {
            key: 'downlinkHook',
            label: 'Downlink',
            render: (c) =>
              c.channel === 'URL' && c.callbackType === 0 && c.callbackSubtype === 3 ? (
                <label>
                  <input type="radio" name="downlinkHook" checked={c.downlinkHook} disabled={!manage} onChange={act(() => post(`${base}/${c.id}/downlink`))} />
                  <span class="sr-only">Use for downlinks</span>
                </label>
              ) : (
                ''
              ),
            csv: (c) => String(c.downlinkHook),
          },
          ...(manage
            ? [
                {
                  key: 'actions',
                  label: 'Actions',
                  csv: () => '',
                  render: (c: Callback) => (
                    <>
                      <a class="button secondary" href={`/devicetypes/${type.id}/callbacks/${c.id}`} aria-label={`Edit callback ${c.id}`}>
                        Edit
                      </a>{' '}
                      <button type="button" class="secondary" onClick={() => confirm('Delete this callback?') && act(() => post(`${base}/${c.id}/delete`))()}>
                        Delete
                      </button>
                    </>
                  ),
                },
              ]
            : []),
        ]}
      />
    </section>
  );
}

// `callbackId`: edit that callback (the form is filled from the list); without
// it, a new one.
export function CallbackForm({ type, callbackId }: { type: DeviceType; callbackId?: string }) {
  const [channel, setChannel] = useState('URL');
  const [kind, setKind] = useState('DATA UPLINK');
  const [url, setUrl] = useState('');
  const [httpMethod, setHttpMethod] = useState('POST');
  const [headers, setHeaders] = useState('');
  const [contentType, setContentType] = useState('application/json');
  const [bodyTemplate, setBodyTemplate] = useState('');
  const [linePattern, setLinePattern] = useState('{device};{time};{data}');
  const [recipient, setRecipient] = useState('');
  const [subject, setSubject] = useState('');
  const [message, setMessage] = useState('');
  const [sendDuplicate, setSendDuplicate] = useState(false);
  const [payloadConfig, setPayloadConfig] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [loaded, setLoaded] = useState(!callbackId);

  useEffect(() => {
    if (!callbackId) return;
    get<{ data: Callback[] }>(`/api/devicetypes/${type.id}/callbacks`).then(
      (res) => {
        const c = res.data.find((x) => x.id === callbackId);
        if (!c) {
          setError(new Error(`callback ${callbackId} not found`));
          return;
        }
        setChannel(c.channel);
        setKind(kindOf(c));
        setUrl(c.url ?? '');
        setHttpMethod(c.httpMethod || 'POST');
        setHeaders(
          Object.entries(c.headers ?? {})
            .map(([n, v]) => `${n}: ${v}`)
            .join('\n'),
        );
        setContentType(c.contentType ?? '');
        setBodyTemplate(c.bodyTemplate ?? '');
        setLinePattern(c.linePattern || '{device};{time};{data}');
        setRecipient(c.recipient ?? '');
        setSubject(c.subject ?? '');
        setMessage(c.message ?? '');
        setSendDuplicate(c.sendDuplicate ?? false);
        setPayloadConfig(c.payloadConfig ?? '');
        setLoaded(true);
      },
      (e) => setError(e),
    );
  }, [type.id, callbackId]);

  async function save(e: Event) {
    e.preventDefault();
    setError(null);
    const k = KINDS[kind];
    const cb: Record<string, unknown> = { channel, callbackType: k.type, callbackSubtype: k.subtype, sendDuplicate };
    // A new callback starts enabled; an edit keeps the callback's state.
    if (!callbackId) cb.enabled = true;
    if (payloadConfig.trim()) cb.payloadConfig = payloadConfig;
    if (channel === 'URL' || channel === 'BATCH_URL') {
      cb.url = url;
      cb.httpMethod = httpMethod;
      if (contentType) cb.contentType = contentType;
      const h: Record<string, string> = {};
      for (const line of headers.split('\n')) {
        const i = line.indexOf(':');
        if (line.trim() && i > 0) h[line.slice(0, i).trim()] = line.slice(i + 1).trim();
      }
      if (Object.keys(h).length) cb.headers = h;
      if (channel === 'URL' && bodyTemplate) cb.bodyTemplate = bodyTemplate;
      if (channel === 'BATCH_URL') cb.linePattern = linePattern;
    } else {
      cb.recipient = recipient;
      cb.subject = subject;
      cb.message = message;
    }
    try {
      if (callbackId) await post(`/api/devicetypes/${type.id}/callbacks/${callbackId}/edit`, cb);
      else await post(`/api/devicetypes/${type.id}/callbacks/new`, [cb]);
      navigate(`/devicetypes/${type.id}/callbacks`);
    } catch (err) {
      setError(err);
    }
  }

  const fields = ['channel', 'callbackType', 'callbackSubtype', 'url', 'httpMethod', 'headers', 'contentType', 'bodyTemplate', 'linePattern', 'recipient', 'subject', 'message', 'sendDuplicate', 'payloadConfig'];
  const fe = (f: string) => fieldError(error, f);
  // Until the callback is read, no form: saving the empty fields would replace it.
  if (!loaded) {
    return (
      <div>
        <h2>Edit callback</h2>
        {error ? <FormErrors error={error} fields={[]} /> : <p>Loading…</p>}
      </div>
    );
  }
  return (
    <form onSubmit={save} noValidate>
      <h2>{callbackId ? 'Edit callback' : 'New callback'}</h2>
      <FormErrors error={error} fields={fields} />
      <Select id="cb-channel" label="Channel" value={channel} onValue={setChannel} options={['URL', 'BATCH_URL', 'EMAIL'].map((c) => ({ value: c, label: c }))} error={fe('channel')} />
      <Select id="cb-kind" label="Type" value={kind} onValue={setKind} options={Object.entries(KINDS).map(([v, k]) => ({ value: v, label: k.label }))} error={fe('callbackType') ?? fe('callbackSubtype')} />
      <p class="hint" id="cb-vars">
        Variables: <code>{COMMON_VARS}</code> {KINDS[kind].vars && <code>{KINDS[kind].vars}</code>}
      </p>
      {channel !== 'EMAIL' ? (
        <>
          <Input id="cb-url" label="URL" value={url} onValue={setUrl} placeholder="https://example.com/uplink?device={device}" error={fe('url')} />
          <Select id="cb-method" label="HTTP method" value={httpMethod} onValue={setHttpMethod} options={(channel === 'BATCH_URL' ? ['POST', 'PUT'] : ['GET', 'POST', 'PUT']).map((m) => ({ value: m, label: m }))} error={fe('httpMethod')} />
          <TextArea id="cb-headers" label="Headers (one 'Name: value' per line)" rows={2} value={headers} onValue={setHeaders} error={fe('headers')} />
          <Input id="cb-contentType" label="Content type" value={contentType} onValue={setContentType} error={fe('contentType')} />
          {channel === 'URL' && <TextArea id="cb-body" label="Body (empty: the content type's default)" rows={4} value={bodyTemplate} onValue={setBodyTemplate} error={fe('bodyTemplate')} />}
          {channel === 'BATCH_URL' && <Input id="cb-line" label="Line pattern" value={linePattern} onValue={setLinePattern} error={fe('linePattern')} />}
        </>
      ) : (
        <>
          <Input id="cb-recipient" label="Recipient" type="email" value={recipient} onValue={setRecipient} error={fe('recipient')} />
          <Input id="cb-subject" label="Subject" value={subject} onValue={setSubject} error={fe('subject')} />
          <TextArea id="cb-message" label="Message" rows={4} value={message} onValue={setMessage} error={fe('message')} />
        </>
      )}
      <TextArea id="cb-payloadConfig" label="Custom payload config (fields become {customData#name})" rows={2} value={payloadConfig} onValue={setPayloadConfig} error={fe('payloadConfig')} />
      <Checkbox id="cb-dup" label="Send duplicates (one call per station)" checked={sendDuplicate} onValue={setSendDuplicate} />
      <div class="actions">
        <button type="submit" disabled={!loaded}>
          {callbackId ? 'Save callback' : 'Create callback'}
        </button>
        <a href={`/devicetypes/${type.id}/callbacks`}>Cancel</a>
      </div>
    </form>
  );
}
