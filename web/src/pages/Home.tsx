import { useEffect, useState } from 'preact/hooks';
import { Layout } from '../components/Layout';
import { get } from '../lib/api';

interface Summary {
  devices: number;
  messagesToday: number;
  eventsOpen: number;
  callbacksFailing: number;
}

export function Home() {
  const [s, setS] = useState<Summary | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    get<Summary>('/api/console/summary').then(setS, (e) => setError(String(e.message ?? e)));
  }, []);
  const tiles: [string, keyof Summary, string][] = [
    ['Devices', 'devices', '/devices'],
    ['Messages today', 'messagesToday', '/devices'],
    ['Open events', 'eventsOpen', '/devices?state=WARN'],
    ['Failing callbacks', 'callbacksFailing', '/devicetypes'],
  ];
  return (
    <Layout title="Home">
      {error && (
        <div class="alert error" role="alert">
          {error}
        </div>
      )}
      <ul class="tiles">
        {tiles.map(([label, key, href]) => (
          <li key={key}>
            <a href={href}>
              <span class="count" data-testid={key}>{s ? s[key].toLocaleString('en') : '…'}</span>
              <span class="label">{label}</span>
            </a>
          </li>
        ))}
      </ul>
    </Layout>
  );
}
