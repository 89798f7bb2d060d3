// Statistics of a device or a device type over a chosen range, from the
// hourly/daily series the server keeps at ingest (GET …/stats).
import { useEffect, useState } from 'preact/hooks';
import { get } from '../lib/api';
import { Chart } from './Chart';

interface Bucket {
  time: number;
  messages: number;
  bytes: number;
  receptions: number;
  avgSnr: number | null;
  avgRssi: number | null;
  downlinks: number;
  statusReports: number;
  temperature: number | null;
  vdd: number | null;
  frequencies: { freq: number; receptions: number }[];
}

const RANGES = [
  { key: '24h', label: 'Last 24 hours', ms: 24 * 3600e3, step: 'hour' },
  { key: '7d', label: 'Last 7 days', ms: 7 * 24 * 3600e3, step: 'hour' },
  { key: '30d', label: 'Last 30 days', ms: 30 * 24 * 3600e3, step: 'day' },
  { key: '1y', label: 'Last year', ms: 365 * 24 * 3600e3, step: 'day' },
];

export function Statistics({ path }: { path: string }) {
  const [range, setRange] = useState('7d');
  const [data, setData] = useState<Bucket[] | null>(null);
  const [span, setSpan] = useState<[number, number]>([0, 0]);
  const [error, setError] = useState('');
  useEffect(() => {
    const r = RANGES.find((x) => x.key === range)!;
    const to = Date.now();
    setData(null);
    setSpan([to - r.ms, to]);
    get<{ data: Bucket[] }>(path, { from: to - r.ms, to, step: r.step }).then(
      (s) => setData(s.data),
      (e) => setError(e.message),
    );
  }, [path, range]);

  const times = data?.map((b) => b.time) ?? [];
  const series: [string, (b: Bucket) => number | null, string][] = [
    ['Messages', (b) => b.messages, 'messages'],
    ['Bytes', (b) => b.bytes, 'bytes'],
    ['SNR', (b) => b.avgSnr, 'dB'],
    ['RSSI', (b) => b.avgRssi, 'dBm'],
    ['Temperature', (b) => b.temperature, '°C'],
    ['Vdd', (b) => b.vdd, 'V'],
  ];
  const freqs = new Map<number, number>();
  data?.forEach((b) => b.frequencies.forEach((f) => freqs.set(f.freq, (freqs.get(f.freq) ?? 0) + f.receptions)));

  return (
    <section aria-label="Statistics">
      <div class="range" role="group" aria-label="Range">
        {RANGES.map((r) => (
          <button type="button" class="secondary" key={r.key} aria-pressed={range === r.key ? 'true' : 'false'} onClick={() => setRange(r.key)}>
            {r.label}
          </button>
        ))}
      </div>
      {error && (
        <div class="alert error" role="alert">
          {error}
        </div>
      )}
      {data && data.length === 0 && <p class="muted">No message in this range.</p>}
      {data && data.length > 0 && (
        <>
          {series.map(([title, f, unit]) =>
            data.some((b) => f(b) !== null) ? (
              <Chart key={title} title={title} unit={unit} times={times} values={data.map(f)} from={span[0]} to={span[1]} />
            ) : (
              <p key={title} class="muted">
                {title}: nothing reported in this range.
              </p>
            ),
          )}
          <h3>Frequencies</h3>
          <table>
            <thead>
              <tr>
                <th scope="col">Frequency (kHz)</th>
                <th scope="col">Receptions</th>
              </tr>
            </thead>
            <tbody>
              {[...freqs.entries()].sort((a, b) => a[0] - b[0]).map(([freq, n]) => (
                <tr key={freq}>
                  <td>{freq}</td>
                  <td>{n}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
