// LoRaWAN provisioning: the Provision IDs (import a report, states, disable),
// the devices they became, a summary, and how to print labels.
import { useEffect, useState } from 'preact/hooks';
import { ConfirmButton } from '../components/Confirm';
import { CopyText } from '../components/CopyText';
import { DataTable } from '../components/DataTable';
import { Checkbox, Input, Notice, Select } from '../components/form';
import { Layout, SideMenu } from '../components/Layout';
import { LocalTable } from '../components/LocalTable';
import { get, post, request } from '../lib/api';
import { dateTime, download } from '../lib/format';
import { groupLabel, useGroups } from '../lib/groups';
import { isAdmin, useSession } from '../lib/session';
import { useFileSubmit } from '../lib/upload';

const TABS = [
  { key: 'ids', label: 'Provision IDs', href: '/provisioning/ids' },
  { key: 'devices', label: 'Provisioned devices', href: '/provisioning/devices' },
  { key: 'summary', label: 'Summary', href: '/provisioning/summary' },
  { key: 'labels', label: 'Labels', href: '/provisioning/labels' },
];

export function Provisioning({ tab }: { tab: string }) {
  const { config } = useSession();
  const current = TABS.find((t) => t.key === tab);
  return (
    <Layout title={`Provisioning${current ? ': ' + current.label : ''}`}>
      {config.provisioning === false && (
        <Notice>Provisioning is off on this server (no GWMP listener): devices cannot provision now, but the registry can be prepared.</Notice>
      )}
      <div class="with-side">
        <SideMenu label="Provisioning sections" items={TABS} current={tab} />
        <div class="content">
          {tab === 'ids' && <ProvisionIds />}
          {tab === 'devices' && <ProvisionedDevices />}
          {tab === 'summary' && <Summary />}
          {tab === 'labels' && <Labels />}
          {!current && <Notice kind="error">There is no such section.</Notice>}
        </div>
      </div>
    </Layout>
  );
}

interface ProvisionId {
  provisionId: string;
  groupId: string;
  model: string;
  serialNumber: string;
  fixedDevEUI: string | null;
  devEUI: string | null;
  joinEUI: string | null;
  state: string;
  createdAt: number;
  updatedAt: number;
}

function ImportReport({ onImported }: { onImported: () => void }) {
  const { user } = useSession();
  const { groups } = useGroups();
  const [group, setGroup] = useState('');
  const [result, setResult] = useState<string>('');
  const { file, setFile, busy, error, submit } = useFileSubmit(async (file) => {
    setResult('');
    const r = await request<{ imported: number }>('POST', '/api/provisioning/ids/import', {
      rawBody: file,
      contentType: 'text/csv',
      query: { groupId: group && group !== user?.group.id ? group : undefined },
    });
    setResult(`Imported ${r.imported} Provision ID${r.imported === 1 ? '' : 's'}.`);
    onImported();
  });

  const refusals = error?.problems ?? [];
  return (
    <section class="block" aria-labelledby="import-h">
      <h3 id="import-h">Import a report</h3>
      <p class="hint">
        The report CSV of a Provision ID request (it has the <code>provisionIdHash</code> column). All its rows are imported, or none: every
        refused line is listed.
      </p>
      <form onSubmit={submit} noValidate class="narrow-wide">
        <div class="field">
          <label for="report-file">Report file (CSV)</label>
          <input id="report-file" type="file" accept=".csv,text/csv" onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)} />
        </div>
        {groups.length > 1 && (
          <Select
            id="report-group"
            label="Owning group"
            value={group || user?.group.id || ''}
            onValue={setGroup}
            options={groups.map((g) => ({ value: g.id, label: groupLabel(g, groups) }))}
          />
        )}
        <button type="submit" disabled={!file || busy}>
          Import
        </button>
      </form>
      {result && <Notice kind="success">{result}</Notice>}
      {error && (
        <div class="alert error" role="alert">
          Nothing was imported: {error.message}
        </div>
      )}
      {refusals.length > 0 && (
        <LocalTable
          title="Refused lines"
          rows={refusals}
          limit={200}
          rowKey={(r, i) => `${r.line ?? ''}-${i}`}
          columns={[
            { key: 'line', label: 'Line' },
            { key: 'message', label: 'Why' },
          ]}
        />
      )}
    </section>
  );
}

function ProvisionIds() {
  const admin = isAdmin();
  const [state, setState] = useState(() => new URLSearchParams(location.search).get('state') ?? '');
  const [reload, setReload] = useState(0);
  return (
    <>
      <h2>Provision IDs</h2>
      {admin && <ImportReport onImported={() => setReload((n) => n + 1)} />}
      <div class="filters">
        <Select
          id="pid-state"
          label="State"
          value={state}
          onValue={setState}
          options={[
            { value: '', label: 'All' },
            { value: 'pending', label: 'Pending' },
            { value: 'provisioned', label: 'Provisioned' },
            { value: 'disabled', label: 'Disabled' },
          ]}
        />
      </div>
      <DataTable<ProvisionId>
        id="provision-ids"
        title="Provision IDs"
        path="/api/provisioning/ids"
        query={{ state: state || undefined }}
        reloadKey={reload}
        rowKey={(r) => r.provisionId}
        empty="No Provision ID."
        columns={[
          { key: 'provisionId', label: 'Provision ID', render: (r) => <code class="mono">{r.provisionId}</code> },
          { key: 'state', label: 'State', render: (r) => <span class={`badge ${r.state === 'disabled' ? 'error' : r.state === 'provisioned' ? 'ok' : ''}`}>{r.state}</span> },
          { key: 'model', label: 'Model' },
          { key: 'serialNumber', label: 'Serial number' },
          { key: 'devEUI', label: 'devEUI', render: (r) => <code class="mono">{r.devEUI ?? ''}</code> },
          { key: 'joinEUI', label: 'joinEUI', hidden: true },
          { key: 'fixedDevEUI', label: 'Fixed devEUI', hidden: true },
          { key: 'groupId', label: 'Group', hidden: true },
          { key: 'createdAt', label: 'Imported', render: (r) => dateTime(r.createdAt), csv: (r) => dateTime(r.createdAt) },
          { key: 'updatedAt', label: 'Changed', render: (r) => dateTime(r.updatedAt), csv: (r) => dateTime(r.updatedAt), hidden: true },
          ...(admin
            ? [
                {
                  key: 'actions',
                  label: 'Actions',
                  csv: () => '',
                  render: (r: ProvisionId) =>
                    r.state === 'disabled' ? (
                      ''
                    ) : (
                      <ConfirmButton
                        small
                        label="Disable"
                        question={`Disable ${r.provisionId}? A device proving it is refused from now on.`}
                        onConfirm={async () => {
                          await post(`/api/provisioning/ids/${encodeURIComponent(r.provisionId)}/disable`);
                          setReload((n) => n + 1);
                        }}
                      />
                    ),
                },
              ]
            : []),
        ]}
      />
    </>
  );
}

interface ProvisionedDevice {
  devEUI: string;
  joinEUI: string;
  provisionId: string;
  groupId: string;
  model: string;
  serialNumber: string;
  provisionedAt: number;
  gatewayEUI: string;
  rssi: number;
  snr: number;
  frequency: number;
}

function ProvisionedDevices() {
  return (
    <>
      <h2>Provisioned devices</h2>
      <DataTable<ProvisionedDevice>
        id="provisioned-devices"
        title="Provisioned devices"
        path="/api/provisioning/devices"
        rowKey={(d) => d.devEUI}
        empty="No device has provisioned yet."
        columns={[
          { key: 'devEUI', label: 'devEUI', render: (d) => <code class="mono">{d.devEUI}</code> },
          { key: 'joinEUI', label: 'joinEUI', render: (d) => <code class="mono">{d.joinEUI}</code> },
          { key: 'provisionId', label: 'Provision ID', render: (d) => <code class="mono">{d.provisionId}</code> },
          { key: 'model', label: 'Model' },
          { key: 'serialNumber', label: 'Serial number' },
          { key: 'provisionedAt', label: 'Provisioned', render: (d) => dateTime(d.provisionedAt), csv: (d) => dateTime(d.provisionedAt) },
          { key: 'gatewayEUI', label: 'Gateway', render: (d) => <code class="mono">{d.gatewayEUI}</code> },
          { key: 'rssi', label: 'RSSI (dBm)', hidden: true },
          { key: 'snr', label: 'SNR (dB)', hidden: true },
          { key: 'frequency', label: 'Frequency (Hz)', hidden: true },
          { key: 'groupId', label: 'Group', hidden: true },
        ]}
      />
    </>
  );
}

interface SummaryBody {
  ids: { pending: number; provisioned: number; disabled: number };
  gateways: { gatewayEUI: string; lastProvisionedAt: number; exchanges: number }[];
}

function Summary() {
  const [s, setS] = useState<SummaryBody | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    get<SummaryBody>('/api/provisioning/summary').then(setS, (e) => setError(String(e.message ?? e)));
  }, []);
  if (error) return <Notice kind="error">{error}</Notice>;
  if (!s) return <p>Loading…</p>;
  return (
    <>
      <h2>Provision IDs by state</h2>
      <ul class="tiles">
        {(['pending', 'provisioned', 'disabled'] as const).map((k) => (
          <li key={k}>
            <a href={`/provisioning/ids?state=${k}`}>
              <span class="count" data-testid={`ids-${k}`}>
                {s.ids[k].toLocaleString('en')}
              </span>
              <span class="label">{k[0].toUpperCase() + k.slice(1)}</span>
            </a>
          </li>
        ))}
      </ul>
      <h2>Last exchanges per gateway</h2>
      <LocalTable
        title="Gateways"
        rows={s.gateways}
        rowKey={(g) => g.gatewayEUI}
        empty="No exchange yet."
        columns={[
          { key: 'gatewayEUI', label: 'Gateway EUI', render: (g) => <code class="mono">{g.gatewayEUI}</code> },
          { key: 'lastProvisionedAt', label: 'Last provisioning', render: (g) => dateTime(g.lastProvisionedAt), csv: (g) => dateTime(g.lastProvisionedAt) },
          { key: 'exchanges', label: 'Exchanges' },
        ]}
      />
    </>
  );
}

// Labels are made by the CLI (`roost label`): the server has no route for
// them, so the console writes the command to run instead of pretending.
function Labels() {
  const [report, setReport] = useState('report.csv');
  const [out, setOut] = useState('labels.svg');
  const [columns, setColumns] = useState('4');
  const [long, setLong] = useState(false);
  const [brand, setBrand] = useState('');
  const quote = (s: string) => (/^[A-Za-z0-9._\/-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  const cmd = [
    'roost label --report',
    quote(report || 'report.csv'),
    '-o',
    quote(out || 'labels.svg'),
    ...(columns && columns !== '4' ? ['--columns', quote(columns)] : []),
    ...(long ? ['--long'] : []),
    ...(long && brand ? ['--brand', quote(brand)] : []),
  ].join(' ');
  return (
    <>
      <h2>Labels</h2>
      <LabelSheet />
      <h3>With the command line</h3>
      <p class="hint">
        The same sheet, or long labels and other layouts, with the <code>roost label</code> command on a machine that has the report and the{' '}
        <code>roost</code> program.
      </p>
      <form class="narrow-wide" onSubmit={(e) => e.preventDefault()}>
        <Input id="label-report" label="Report file" value={report} onValue={setReport} />
        <Input id="label-out" label="Sheet to write (SVG)" value={out} onValue={setOut} />
        <Input id="label-columns" label="Labels per row (1–20)" type="number" inputMode="numeric" value={columns} onValue={setColumns} />
        <Checkbox id="label-long" label="Long labels (JSON with PROVID, BRAND, MODEL, SN)" checked={long} onValue={setLong} />
        {long && <Input id="label-brand" label="Brand on long labels" value={brand} onValue={setBrand} />}
      </form>
      <h4>Command</h4>
      <CopyText label="command" text={cmd} />
      <p class="hint">
        One file per device instead of a sheet: <code>roost label --report REPORT.csv --out-dir DIR [--format svg|png]</code>. One label:{' '}
        <code>roost label --pid PID -o label.svg</code>. See <code>roost label --help</code>.
      </p>
    </>
  );
}

// At most this many labels per sheet (the server's limit, kMaxLabelsPerSheet).
const MAX_LABELS = 1000;

// A report file sent to POST /api/provisioning/labels; the answered SVG sheet is
// shown as a data: image (the console's CSP allows img-src data:, and an SVG in
// <img> runs no script) and offered as a download.
function LabelSheet() {
  const [sheet, setSheet] = useState('');
  const { file, setFile, busy, error, setError, submit } = useFileSubmit(async (file) => {
    setSheet('');
    setSheet(await request<string>('POST', '/api/provisioning/labels', { rawBody: file, contentType: 'text/csv', query: { format: 'svg' } }));
  });

  const problems = error?.problems ?? [];
  return (
    <section class="block" aria-labelledby="sheet-h">
      <h3 id="sheet-h">Print a sheet</h3>
      <p class="hint">
        A report CSV of up to {MAX_LABELS} devices gives an A4 sheet of QR-code labels, one per Provision ID (the sheet <code>roost label --report</code>{' '}
        writes). Nothing is stored.
      </p>
      <form onSubmit={submit} noValidate class="narrow-wide">
        <div class={error ? 'field has-error' : 'field'}>
          <label for="label-sheet-file">Report file (CSV)</label>
          <input
            id="label-sheet-file"
            type="file"
            accept=".csv,text/csv"
            aria-invalid={error ? 'true' : undefined}
            aria-describedby={error ? 'label-sheet-error' : undefined}
            onChange={(e) => {
              setFile((e.target as HTMLInputElement).files?.[0] ?? null);
              setError(null);
            }}
          />
          {error && (
            <div id="label-sheet-error" class="error" role="alert">
              No sheet: {error.message}
              {problems.length > 0 && (
                <ul>
                  {problems.slice(0, 20).map((p, i) => (
                    <li key={i}>
                      {p.line !== undefined ? `Line ${p.line}: ` : ''}
                      {p.message}
                    </li>
                  ))}
                  {problems.length > 20 && <li>and {problems.length - 20} more</li>}
                </ul>
              )}
            </div>
          )}
        </div>
        <button type="submit" disabled={!file || busy}>
          {busy ? 'Making the sheet…' : 'Make the sheet'}
        </button>
      </form>
      {sheet && (
        <>
          <p>
            <button type="button" onClick={() => download('labels.svg', sheet, 'image/svg+xml')}>
              Download sheet (SVG)
            </button>
          </p>
          <img class="label-sheet" src={'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(sheet)} alt="The label sheet of the report" />
        </>
      )}
    </section>
  );
}
