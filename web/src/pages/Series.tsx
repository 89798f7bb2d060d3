// "New series": register the devices of an `id;pac` file on a device type;
// "Edit series": change name and position (and more) of the devices of a CSV.
// Both check the file in the browser first, block the upload while a line is
// bad, and then follow the job until it is done.
import { useEffect, useState } from 'preact/hooks';
import { DataTable } from '../components/DataTable';
import { FilePreview } from '../components/FilePreview';
import { FormErrors, Input, Notice, Select, fieldError } from '../components/form';
import { JobProgress } from '../components/JobProgress';
import { Layout } from '../components/Layout';
import { ApiError, fetchAll, post, request } from '../lib/api';
import { parseEditSeries, parseSeries, type EditPreview, type SeriesPreview } from '../lib/series';
import { canManage, hasRole } from '../lib/session';

interface Job {
  total: number;
  jobId: string;
}

export function Series({ mode }: { mode: 'new' | 'edit' }) {
  return mode === 'new' ? <NewSeries /> : <EditSeries />;
}

function FileInput({ id, label, onFile, error, hint }: { id: string; label: string; onFile: (f: File | null) => void; error?: string; hint: string }) {
  return (
    <div class={'field' + (error ? ' has-error' : '')}>
      <label for={id}>{label}</label>
      <input
        id={id}
        type="file"
        accept=".csv,.txt,text/csv,text/plain"
        aria-describedby={`${id}-hint${error ? ` ${id}-error` : ''}`}
        aria-invalid={error ? 'true' : undefined}
        onChange={(e) => onFile((e.target as HTMLInputElement).files?.[0] ?? null)}
      />
      <div class="hint" id={`${id}-hint`}>
        {hint}
      </div>
      {error && (
        <div class="error" id={`${id}-error`} role="alert">
          {error}
        </div>
      )}
    </div>
  );
}

function SeriesHelp() {
  return (
    <details class="block">
      <summary>File format</summary>
      <p>One device per line: its ID and its PAC, separated by “;” or “,”.</p>
      <pre class="code">{'id;pac\n0041A2F0;6A757C859B23471B\n41A2F1;0F1E2D3C4B5A6978'}</pre>
      <ul>
        <li>The ID is 1 to 8 hexadecimal digits (leading zeros and “0x” may be written or not); the PAC is 16 hexadecimal digits.</li>
        <li>The separator is the same for the whole file: the one of the header, or else of the first line.</li>
        <li>
          The first line may be a header naming the columns, in either order: <code>id;pac</code>, <code>pac,id</code>, <code>device id;pac</code>,{' '}
          <code>deviceId;pac</code>, <code>device_id;pac</code> (any case).
        </li>
        <li>Blank lines are skipped; spaces around a field and double quotes around it are allowed; Windows line ends too.</li>
        <li>An ID twice in the file is flagged here; unknown IDs and wrong PACs are reported per device when the job runs.</li>
        <li>The ID/PAC file of a factory batch is a valid series file.</li>
      </ul>
    </details>
  );
}

interface DeviceType {
  id: string;
  name: string;
}

interface Certificate {
  key: string;
  manufacturer: string;
  productName: string;
  revision?: string;
  link?: string | null;
}

// "Where can I find the end-product certificate?": a search of the registry
// of known certificates by key, manufacturer or product name.
function CertificateSearch({ onPick }: { onPick: (key: string) => void }) {
  const [text, setText] = useState('');
  const [search, setSearch] = useState<string | null>(null);
  return (
    <details class="block">
      <summary>Where can I find the end-product certificate?</summary>
      <p class="hint">
        The end-product certificate (e.g. P_0004_D356_03) is printed on the product's label and in its documentation. Search the certificates
        Roost knows by manufacturer, product name or key:
      </p>
      {/* Not a <form>: it sits inside the series form. Enter searches. */}
      <div
        class="tabs-row"
        role="search"
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.target as HTMLElement).tagName === 'INPUT') {
            e.preventDefault();
            setSearch(text.trim());
          }
        }}
      >
        <Input id="cert-search" label="Manufacturer, product or key" type="search" value={text} onValue={setText} />
        <div class="field">
          <button type="button" onClick={() => setSearch(text.trim())}>
            Search
          </button>
        </div>
      </div>
      {search !== null && (
        <DataTable<Certificate>
          id="certificate-search"
          title="Product certificates"
          path="/api/product-certificates"
          query={{ search }}
          pageSize={20}
          rowKey={(c) => c.key}
          empty="No certificate matches."
          columns={[
            { key: 'key', label: 'Key', render: (c) => <code class="mono">{c.key}</code> },
            { key: 'manufacturer', label: 'Manufacturer' },
            { key: 'productName', label: 'Product' },
            { key: 'revision', label: 'Revision', hidden: true },
            { key: 'link', label: 'Link', render: (c) => (c.link ? <a href={c.link} rel="noreferrer noopener" target="_blank">documentation</a> : '') },
            {
              key: 'use',
              label: 'Use',
              csv: () => '',
              render: (c) => (
                <button type="button" class="secondary small" onClick={() => onPick(c.key)} aria-label={`Use ${c.key}`}>
                  Use
                </button>
              ),
            },
          ]}
        />
      )}
    </details>
  );
}

async function readFile(f: File): Promise<string> {
  return f.text();
}

function NewSeries() {
  const allowed = hasRole('ADMIN', 'DEVICE_MANAGER', 'FACTORY');
  const [file, setFile] = useState<File | null>(null);
  const [preview, setPreview] = useState<SeriesPreview | null>(null);
  const [types, setTypes] = useState<DeviceType[] | null>(null);
  const [typesRefused, setTypesRefused] = useState(false);
  const [type, setType] = useState('');
  const [certificate, setCertificate] = useState('');
  const [prefix, setPrefix] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [job, setJob] = useState<Job | null>(null);

  useEffect(() => {
    if (!allowed) return;
    fetchAll<DeviceType>('/api/devicetypes', {}, 5000).then(
      (t) => {
        setTypes(t);
        if (t.length && !type) setType(new URLSearchParams(location.search).get('deviceType') ?? t[0].id);
      },
      (e) => {
        // FACTORY registers devices but may not read device types: it types the id.
        if (e instanceof ApiError && e.status === 403) setTypesRefused(true);
        else setError(e);
      },
    );
  }, []);

  async function choose(f: File | null) {
    setFile(f);
    setError(null);
    setPreview(f ? parseSeries(await readFile(f)) : null);
  }

  async function submit(e: Event) {
    e.preventDefault();
    if (!file || !preview || preview.problems || !type) return;
    setBusy(true);
    setError(null);
    try {
      const form = new FormData();
      form.append('file', file, file.name);
      if (prefix) form.append('prefix', prefix);
      if (certificate.trim()) form.append('productCertificate', certificate.trim());
      const r = await request<Job>('POST', `/api/devicetypes/${encodeURIComponent(type)}/devices/bulk/create/series`, { rawBody: form });
      setJob(r);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  if (!allowed) {
    return (
      <Layout title="New series">
        <Notice kind="error">Registering devices needs the ADMIN, DEVICE_MANAGER or FACTORY role.</Notice>
      </Layout>
    );
  }
  if (job) {
    return (
      <Layout title="New series">
        <JobProgress jobId={job.jobId} total={job.total} what={`Registering ${job.total} devices`} />
        <div class="actions">
          {canManage() && (
            <a class="button secondary" href={`/devicetypes/${encodeURIComponent(type)}/devices`}>
              Devices of the type
            </a>
          )}
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setJob(null);
              setFile(null);
              setPreview(null);
            }}
          >
            Another series
          </button>
        </div>
      </Layout>
    );
  }

  const blocked = !file ? 'Choose a file.' : !preview ? 'Reading the file…' : preview.problems ? 'Fix the bad lines first.' : !type ? 'Choose a device type.' : '';
  return (
    <Layout title="New series">
      {canManage() && (
        <p>
          To change devices already registered, use <a href="/series/edit">Edit series</a>.
        </p>
      )}
      <SeriesHelp />
      <form onSubmit={submit} noValidate class="narrow-wide">
        <FormErrors error={error} fields={['file', 'prefix', 'productCertificate']} />
        <FileInput id="series-file" label="Series file (text or CSV)" onFile={choose} error={fieldError(error, 'file')} hint="One device per line: ID;PAC. Checked here before anything is sent." />
        {typesRefused || (types && types.length === 0) ? (
          <Input
            id="device-type"
            label="Device type id"
            value={type}
            onValue={setType}
            hint={typesRefused ? 'Your roles do not list device types: enter the id you were given.' : 'No device type is visible; enter an id.'}
          />
        ) : (
          <Select
            id="device-type"
            label="Device type"
            value={type}
            onValue={setType}
            options={(types ?? []).map((t) => ({ value: t.id, label: t.name }))}
          />
        )}
        <Input id="certificate" label="Product certificate (optional)" value={certificate} onValue={setCertificate} error={fieldError(error, 'productCertificate')} placeholder="P_0004_D356_03" />
        <CertificateSearch onPick={(k) => setCertificate(k)} />
        <Input id="prefix" label="Name prefix (optional)" value={prefix} onValue={setPrefix} error={fieldError(error, 'prefix')} hint="Each device is named this prefix followed by its ID." />
        <div class="actions">
          <button type="submit" disabled={busy || blocked !== ''} aria-describedby="submit-why">
            Register the devices
          </button>
          <span id="submit-why" class="muted">
            {blocked}
          </span>
        </div>
      </form>
      {preview && <FilePreview preview={preview} columns={preview.header ? preview.header.map((h) => (h.includes('pac') ? 'PAC' : 'ID')) : ['ID', 'PAC']} />}
    </Layout>
  );
}

function EditSeries() {
  const [file, setFile] = useState<File | null>(null);
  const [preview, setPreview] = useState<EditPreview | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [job, setJob] = useState<Job | null>(null);

  if (!canManage()) {
    return (
      <Layout title="Edit series">
        <Notice kind="error">Editing devices needs the ADMIN or DEVICE_MANAGER role.</Notice>
      </Layout>
    );
  }

  async function choose(f: File | null) {
    setFile(f);
    setError(null);
    setPreview(f ? parseEditSeries(await readFile(f)) : null);
  }

  async function submit(e: Event) {
    e.preventDefault();
    if (!preview || preview.problems) return;
    setBusy(true);
    setError(null);
    try {
      setJob(await post<Job>('/api/devices/bulk/edit', { data: preview.items }));
    } catch (err) {
      // The server names an item by its index (data[3].lat): say which line.
      if (err instanceof ApiError) {
        const lineOf = (i: number) => preview.lines.filter((l) => !l.problem)[i]?.line;
        const text = err.message.replace(/data\[(\d+)\]/g, (m, i) => (lineOf(Number(i)) ? `line ${lineOf(Number(i))}` : m));
        setError(new ApiError(err.status, text, [], err.body));
      } else setError(err);
    } finally {
      setBusy(false);
    }
  }

  if (job) {
    return (
      <Layout title="Edit series">
        <JobProgress jobId={job.jobId} total={job.total} what={`Editing ${job.total} devices`} />
        <div class="actions">
          <a class="button secondary" href="/devices">
            Devices
          </a>
        </div>
      </Layout>
    );
  }

  const blocked = !file ? 'Choose a file.' : !preview ? 'Reading the file…' : preview.problems ? 'Fix the bad lines first.' : '';
  return (
    <Layout title="Edit series">
      <details class="block">
        <summary>File format</summary>
        <p>A header line naming the columns, then one device per line. The first column is the device ID; the others are what to change.</p>
        <pre class="code">{'id;name;lat;lng\n0041A2F0;Pump 1;48.8566;2.3522\n41A2F1;Pump 2;;'}</pre>
        <ul>
          <li>
            Columns: <code>id</code> (required, first), then any of <code>name</code>, <code>lat</code> (−90 to 90), <code>lng</code> (−180 to 180),{' '}
            <code>deviceTypeId</code> (a type of the device's own group), <code>productCertificate</code>.
          </li>
          <li>An empty cell leaves that field as it is. “;” or “,” separates, as the header does.</li>
          <li>Moving a device to another group's type needs its PAC and is done one device at a time, on the device's page.</li>
        </ul>
      </details>
      <form onSubmit={submit} noValidate class="narrow-wide">
        <FormErrors error={error} fields={[]} />
        <FileInput id="edit-file" label="Edit file (CSV)" onFile={choose} hint="id;name;lat;lng … Checked here before anything is sent." />
        <div class="actions">
          <button type="submit" disabled={busy || blocked !== ''} aria-describedby="submit-why">
            Apply the changes
          </button>
          <span id="submit-why" class="muted">
            {blocked}
          </span>
        </div>
      </form>
      {preview && <FilePreview preview={preview} columns={preview.columns} />}
    </Layout>
  );
}
