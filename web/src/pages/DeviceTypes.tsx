import { useState } from 'preact/hooks';
import { DataTable } from '../components/DataTable';
import { Input } from '../components/form';
import { Layout } from '../components/Layout';
import { navigate, useLocation } from '../lib/router';
import { dateTime } from '../lib/format';
import { canManage } from '../lib/session';

export interface DeviceType {
  id: string;
  name: string;
  description?: string | null;
  group: { id: string };
  keepAlive?: number;
  alertEmail?: string | null;
  payloadType?: string;
  payloadConfig?: string | null;
  downlinkMode?: string;
  downlinkDataString?: string | null;
  automaticRenewal?: boolean;
  creationTime?: number;
  lastEditionTime?: number;
}

// The filter is the API's own (`name` contains, without case), kept in the URL.
export function DeviceTypes() {
  const { query } = useLocation();
  const applied = query.get('name') ?? '';
  const [name, setName] = useState(applied);
  return (
    <Layout title="Device types">
      <form
        class="filters"
        role="search"
        aria-label="Filter device types"
        onSubmit={(e) => {
          e.preventDefault();
          navigate('/devicetypes' + (name ? `?name=${encodeURIComponent(name)}` : ''));
        }}
      >
        <Input id="f-name" label="Name contains" value={name} onValue={setName} />
        <div class="field">
          <button type="submit">Filter</button>
        </div>
      </form>
      {canManage() && (
        <div class="actions">
          <a class="button" href="/devicetypes/new/edit">
            New device type
          </a>
        </div>
      )}
      <DataTable<DeviceType>
        id="devicetypes"
        title="Device types"
        path="/api/devicetypes"
        query={{ name: applied || undefined }}
        rowKey={(t) => t.id}
        empty="No device type yet."
        columns={[
          { key: 'name', label: 'Name', render: (t) => <a href={`/devicetypes/${t.id}`}>{t.name}</a> },
          { key: 'description', label: 'Description' },
          { key: 'payloadType', label: 'Display type' },
          { key: 'downlinkMode', label: 'Downlink mode' },
          { key: 'keepAlive', label: 'Keep-alive (s)' },
          { key: 'group.id', label: 'Group', hidden: true },
          { key: 'id', label: 'ID', hidden: true },
          { key: 'creationTime', label: 'Created', hidden: true, render: (t) => dateTime(t.creationTime), csv: (t) => dateTime(t.creationTime) },
        ]}
      />
    </Layout>
  );
}
