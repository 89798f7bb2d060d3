// One device type, with a left menu: Information, Edit (information, downlink,
// display type with its "try it" box), Location, Associated devices, Devices
// being transferred, Statistics, Event configuration, Callbacks.
import { useEffect, useState } from 'preact/hooks';
import { CallbackForm, Callbacks } from '../components/Callbacks';
import { DataTable } from '../components/DataTable';
import { EventConfig } from '../components/EventConfig';
import { Checkbox, Field, FormErrors, Input, Notice, TextArea, fieldError } from '../components/form';
import { Layout, SideMenu } from '../components/Layout';
import { lazyComponent } from '../components/lazy';

import { Messages } from '../components/Messages';
import { ApiError, get, post } from '../lib/api';
import { dateTime } from '../lib/format';
import { navigate } from '../lib/router';
import { canManage } from '../lib/session';
import { deviceColumns, type Device } from './Devices';
import type { DeviceType } from './DeviceTypes';

const PositionsMap = lazyComponent<{ typeId: string }>(() => import('../components/PositionsMap').then((m) => m.PositionsMap));
const Statistics = lazyComponent<{ path: string }>(() => import('../components/Statistics').then((m) => m.Statistics));

const TABS = [
  ['information', 'Information'],
  ['edit', 'Edit'],
  ['location', 'Location'],
  ['devices', 'Associated devices'],
  ['transfers', 'Devices being transferred'],
  ['messages', 'Messages'],
  ['statistics', 'Statistics'],
  ['event-configuration', 'Event configuration'],
  ['callbacks', 'Callbacks'],
];

export function DeviceTypePage({ id, tab, sub }: { id: string; tab: string; sub?: string }) {
  const isNew = id === 'new';
  const [type, setType] = useState<DeviceType | null>(null);
  const [error, setError] = useState('');
  const base = `/api/devicetypes/${encodeURIComponent(id)}`;
  useEffect(() => {
    if (isNew) return;
    get<DeviceType>(base).then(setType, (e) => setError(e instanceof ApiError && e.status === 404 ? 'There is no such device type you can see.' : e.message));
  }, [base]);
  if (isNew) {
    return (
      <Layout title="New device type">
        <Editor onSaved={(t) => navigate(`/devicetypes/${t}`)} />
      </Layout>
    );
  }
  const label = TABS.find(([k]) => k === tab)?.[1] ?? 'Information';
  const tabs = TABS.filter(([k]) => k !== 'edit' || canManage());
  return (
    <Layout title={`Device type ${type?.name ?? ''} · ${label}`}>
      {error && <Notice kind="error">{error}</Notice>}
      <div class="with-side">
        <SideMenu label="Device type" current={tab} items={tabs.map(([k, l]) => ({ key: k, label: l, href: `/devicetypes/${id}/${k}` }))} />
        <div class="content">
          {type && tab === 'information' && <Information type={type} />}
          {type && tab === 'edit' && canManage() && <Editor type={type} onSaved={() => get<DeviceType>(base).then(setType)} />}
          {tab === 'location' && <Location id={id} />}
          {tab === 'devices' && <DataTable<Device> id="type-devices" title="Associated devices" path={`${base}/devices`} columns={deviceColumns(new Map(type ? [[type.id, type.name]] : []))} rowKey={(d) => d.id} empty="No device of this type." />}
          {tab === 'transfers' && (
            <p>
              None. In Roost a transfer to another group's device type is a single edit checked with the device's PAC (see the device's Information page): it is done at once, so no device ever
              waits in transfer.
            </p>
          )}
          {tab === 'messages' && <Messages base={base} showDevice />}
          {tab === 'statistics' && <Statistics path={`${base}/stats`} />}
          {tab === 'event-configuration' && <EventConfig base={base} />}
          {tab === 'callbacks' && type && (sub === 'new' ? <CallbackForm type={type} /> : sub ? <CallbackForm key={sub} type={type} callbackId={sub} /> : <Callbacks type={type} />)}
        </div>
      </div>
    </Layout>
  );
}

function Information({ type }: { type: DeviceType }) {
  return (
    <dl class="props">
      <dt>Name</dt>
      <dd>{type.name}</dd>
      <dt>Description</dt>
      <dd>{type.description ?? ''}</dd>
      <dt>Group</dt>
      <dd>{type.group.id}</dd>
      <dt>Keep-alive</dt>
      <dd>{type.keepAlive ? `${type.keepAlive} s` : 'not watched'}</dd>
      <dt>Alert email</dt>
      <dd>{type.alertEmail ?? ''}</dd>
      <dt>Display type</dt>
      <dd>{type.payloadType}</dd>
      {type.payloadType === 'Custom' && (
        <>
          <dt>Custom format</dt>
          <dd>
            <code>{type.payloadConfig}</code>
          </dd>
        </>
      )}
      <dt>Downlink</dt>
      <dd>
        {type.downlinkMode}
        {type.downlinkMode === 'DIRECT' && type.downlinkDataString ? ` — ${type.downlinkDataString}` : ''}
      </dd>
      <dt>Automatic token renewal</dt>
      <dd>{type.automaticRenewal ? 'yes' : 'no'}</dd>
      <dt>Created / edited</dt>
      <dd>
        {dateTime(type.creationTime)} / {dateTime(type.lastEditionTime)}
      </dd>
    </dl>
  );
}

// Runs `f` once `deps` have not changed for `ms` (live validation as one types).
function useDebounced(f: () => void | (() => void), deps: unknown[], ms = 300) {
  useEffect(() => {
    let cleanup: void | (() => void);
    const t = setTimeout(() => {
      cleanup = f();
    }, ms);
    return () => {
      clearTimeout(t);
      if (cleanup) cleanup();
    };
  }, deps);
}

function Editor({ type, onSaved }: { type?: DeviceType; onSaved: (id: string) => void }) {
  const [name, setName] = useState(type?.name ?? '');
  const [description, setDescription] = useState(type?.description ?? '');
  const [keepAlive, setKeepAlive] = useState(String(type?.keepAlive ?? 0));
  const [alertEmail, setAlertEmail] = useState(type?.alertEmail ?? '');
  const [renewal, setRenewal] = useState(type?.automaticRenewal ?? true);
  const [downlinkMode, setDownlinkMode] = useState(type?.downlinkMode ?? 'DIRECT');
  const [template, setTemplate] = useState(type?.downlinkDataString ?? '');
  const [payloadType, setPayloadType] = useState(type?.payloadType ?? 'None');
  const [format, setFormat] = useState(type?.payloadConfig ?? '');
  const [sample, setSample] = useState('');
  const [tried, setTried] = useState<{ ok?: string; error?: string }>({});
  const [templateCheck, setTemplateCheck] = useState<{ ok?: string; error?: string }>({});
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);

  // The downlink template, checked by the server's own compiler as it is typed.
  useDebounced(() => {
    if (downlinkMode !== 'DIRECT' || template.trim() === '') return setTemplateCheck({});
    let live = true;
    post<{ example?: string }>('/api/codec/downlink/check', { downlinkDataString: template }).then(
      (r) => live && setTemplateCheck({ ok: r.example ? `valid; with sample values: ${r.example}` : 'valid' }),
      (e) => live && setTemplateCheck({ error: e instanceof ApiError ? e.forField('downlinkDataString') ?? e.message : String(e) }),
    );
    return () => {
      live = false;
    };
  }, [template, downlinkMode]);

  // The format, compiled by the server as it is typed, and the sample decoded.
  useDebounced(() => {
    if (payloadType === 'None' || (payloadType === 'Custom' && format.trim() === '')) return setTried({});
    let live = true;
    post<{ decoded: unknown }>('/api/codec/decode', { payloadType, payloadConfig: format, data: sample.trim() }).then(
      (r) => live && setTried({ ok: sample.trim() ? JSON.stringify(r.decoded) : 'the format is valid' }),
      (e) => live && setTried({ error: e instanceof ApiError ? e.forField('payloadConfig') ?? e.forField('data') ?? e.message : String(e) }),
    );
    return () => {
      live = false;
    };
  }, [format, payloadType, sample]);

  async function save(e: Event) {
    e.preventDefault();
    setError(null);
    setSaved(false);
    const body: Record<string, unknown> = {
      name,
      description: description || null,
      keepAlive: Number(keepAlive),
      alertEmail: alertEmail || null,
      automaticRenewal: renewal,
      downlinkMode,
      downlinkDataString: downlinkMode === 'DIRECT' ? template || null : null,
      payloadType,
      payloadConfig: payloadType === 'Custom' ? format : null,
    };
    try {
      if (type) {
        await post('/api/devicetypes/edit', { id: type.id, ...body });
        setSaved(true);
        onSaved(type.id);
      } else {
        for (const k of Object.keys(body)) if (body[k] === null) delete body[k];
        const r = await post<{ id: string }>('/api/devicetypes/create', body);
        onSaved(r.id);
      }
    } catch (err) {
      setError(err);
    }
  }

  const fields = ['name', 'description', 'keepAlive', 'alertEmail', 'automaticRenewal', 'downlinkMode', 'downlinkDataString', 'payloadType', 'payloadConfig'];
  return (
    <form onSubmit={save} noValidate>
      {saved && <Notice kind="success">Saved.</Notice>}
      <FormErrors error={error} fields={fields} />
      <section class="block">
        <h2>Information</h2>
        <Input id="t-name" label="Name" value={name} onValue={setName} error={fieldError(error, 'name')} required />
        <TextArea id="t-description" label="Description" rows={2} value={description} onValue={setDescription} error={fieldError(error, 'description')} />
        <Input id="t-keepAlive" label="Keep-alive (seconds of silence before a communication loss; 0 = not watched)" inputMode="numeric" value={keepAlive} onValue={setKeepAlive} error={fieldError(error, 'keepAlive')} />
        <Input id="t-alertEmail" label="Alert email (dead callbacks)" type="email" value={alertEmail} onValue={setAlertEmail} error={fieldError(error, 'alertEmail')} />
        <Checkbox id="t-renewal" label="Renew device tokens automatically" checked={renewal} onValue={setRenewal} />
      </section>
      <section class="block">
        <h2>Downlink</h2>
        <fieldset>
          <legend>Downlink mode</legend>
          <div class="radios">
            {['DIRECT', 'CALLBACK', 'NONE'].map((m) => (
              <label key={m}>
                <input type="radio" name="downlinkMode" value={m} checked={downlinkMode === m} onChange={() => setDownlinkMode(m)} />
                {m}
              </label>
            ))}
          </div>
        </fieldset>
        {downlinkMode === 'DIRECT' && (
          <Input
            id="t-downlinkDataString"
            label="Downlink data (16 hex digits; variables {time}, {tapId}, {rssi})"
            value={template}
            onValue={setTemplate}
            error={fieldError(error, 'downlinkDataString') ?? templateCheck.error}
            hint={templateCheck.ok}
          />
        )}
        {downlinkMode === 'CALLBACK' && <p class="muted">The downlink comes from the type's BIDIR callback chosen in Callbacks.</p>}
      </section>
      <section class="block">
        <h2>Display type</h2>
        <fieldset>
          <legend>Payload display</legend>
          <div class="radios">
            {['None', 'String', 'Custom'].map((m) => (
              <label key={m}>
                <input type="radio" name="payloadType" value={m} checked={payloadType === m} onChange={() => setPayloadType(m)} />
                {m}
              </label>
            ))}
          </div>
        </fieldset>
        {payloadType === 'Custom' && (
          <TextArea
            id="t-payloadConfig"
            label="Custom format"
            rows={3}
            placeholder="temp::int:16:little-endian hum::uint:8"
            value={format}
            onValue={setFormat}
            error={fieldError(error, 'payloadConfig') ?? (tried.error && !fieldError(error, 'payloadConfig') && format.trim() ? tried.error : undefined)}
            hint="Fields separated by spaces, each name:byte:type:size[:endianness], e.g. int1::uint:8 i2:1:uint:16:little-endian"
          />
        )}
        {payloadType !== 'None' && (
          <div class="tryit">
            <Input id="t-sample" label="Try it: a message in hex" value={sample} onValue={setSample} placeholder="feff15" />
            <Field id="t-result" label="Decoded">
              <output id="t-result" class="mono" aria-live="polite">
                {tried.ok ?? ''}
              </output>
            </Field>
          </div>
        )}
      </section>
      <button type="submit">{type ? 'Save' : 'Create'}</button>
    </form>
  );
}

function Location({ id }: { id: string }) {
  return <PositionsMap typeId={id} />;
}
