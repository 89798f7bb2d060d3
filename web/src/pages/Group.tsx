// A group: the caller's own (/group/...) or one below it (/groups/:id/...),
// with a left menu: Information (and subgroups), Associated users,
// Associated device types, Event configuration, API access.
import { useEffect, useState } from 'preact/hooks';
import { ConfirmButton } from '../components/Confirm';
import { CopyText } from '../components/CopyText';
import { DataTable } from '../components/DataTable';
import { EventConfig } from '../components/EventConfig';
import { FormErrors, Input, Notice, TextArea, fieldError } from '../components/form';
import { Layout, SideMenu } from '../components/Layout';
import { RoleChoice } from '../components/Roles';
import { ApiError, del, get, post } from '../lib/api';
import { dateTime } from '../lib/format';
import type { Group } from '../lib/groups';
import { navigate } from '../lib/router';
import { isAdmin, useSession } from '../lib/session';
import { userColumns, type UserRow } from './Users';

interface Props {
  id?: string;
  tab: string;
}

export function GroupPage({ id, tab }: Props) {
  const { user } = useSession();
  const groupId = id ?? user?.group.id ?? '';
  const base = id ? `/groups/${encodeURIComponent(id)}` : '/group';
  const [group, setGroup] = useState<Group | null>(null);
  const [error, setError] = useState('');
  const [reload, setReload] = useState(0);

  useEffect(() => {
    setGroup(null);
  }, [groupId]);
  useEffect(() => {
    setError('');
    get<Group>(`/api/groups/${encodeURIComponent(groupId)}`).then(setGroup, (e) =>
      setError(e instanceof ApiError && e.status === 404 ? 'There is no such group.' : String(e.message ?? e)),
    );
  }, [groupId, reload]);

  const admin = isAdmin();
  const items = [
    { key: 'information', label: 'Information', href: `${base}` },
    ...(admin ? [{ key: 'users', label: 'Associated users', href: `${base}/users` }] : []),
    { key: 'devicetypes', label: 'Associated device types', href: `${base}/devicetypes` },
    { key: 'events', label: 'Event configuration', href: `${base}/events` },
    ...(admin ? [{ key: 'api-access', label: 'API access', href: `${base}/api-access` }] : []),
  ];
  const title = group ? `Group ${group.name}` : 'Group';
  return (
    <Layout title={title}>
      {error && <Notice kind="error">{error}</Notice>}
      <div class="with-side">
        <SideMenu label="Group sections" items={items} current={tab} />
        <div class="content">
          {group && tab === 'information' && <Information group={group} own={!id || id === user?.group.id} onChange={() => setReload((n) => n + 1)} />}
          {group && tab === 'users' && admin && <GroupUsers group={group} />}
          {group && tab === 'devicetypes' && <GroupDeviceTypes group={group} />}
          {group && tab === 'events' && <GroupEvents group={group} />}
          {group && tab === 'api-access' && admin && <ApiAccess group={group} />}
          {!items.some((i) => i.key === tab) && <Notice kind="error">There is no such section.</Notice>}
        </div>
      </div>
    </Layout>
  );
}

function Information({ group, own, onChange }: { group: Group; own: boolean; onChange: () => void }) {
  const admin = isAdmin();
  const [name, setName] = useState(group.name);
  const [description, setDescription] = useState(group.description ?? '');
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const [subName, setSubName] = useState('');
  const [subDescription, setSubDescription] = useState('');
  const [subError, setSubError] = useState<unknown>(null);
  const [subKey, setSubKey] = useState(0);

  async function save(e: Event) {
    e.preventDefault();
    setError(null);
    setSaved(false);
    try {
      await post('/api/groups/edit', { id: group.id, name, description: description === '' ? null : description });
      setSaved(true);
      onChange();
    } catch (err) {
      setError(err);
    }
  }

  async function createSub(e: Event) {
    e.preventDefault();
    setSubError(null);
    try {
      const r = await post<{ id: string }>('/api/groups/create', { name: subName, description: subDescription || undefined, parentId: group.id });
      setSubName('');
      setSubDescription('');
      setSubKey((k) => k + 1);
      navigate(`/groups/${r.id}`);
    } catch (err) {
      setSubError(err);
    }
  }

  return (
    <>
      <h2>Information</h2>
      <dl class="props">
        <dt>Name</dt>
        <dd>{group.name}</dd>
        <dt>Description</dt>
        <dd>{group.description || <span class="muted">none</span>}</dd>
        <dt>Id</dt>
        <dd>
          <code class="mono">{group.id}</code>
        </dd>
        <dt>Parent</dt>
        <dd>{group.parentId ? <a href={`/groups/${group.parentId}`}>{group.parentId}</a> : <span class="muted">{own ? 'none you can see (this is your group)' : 'none'}</span>}</dd>
        <dt>Created</dt>
        <dd>{dateTime(group.creationTime)}</dd>
      </dl>
      {admin && (
        <section class="block" aria-labelledby="group-edit-h">
          <h3 id="group-edit-h">Edit</h3>
          <form onSubmit={save} noValidate class="narrow-wide">
            {saved && <Notice kind="success">Saved.</Notice>}
            <FormErrors error={error} fields={['name', 'description']} />
            <Input id="group-name" label="Name" value={name} onValue={setName} error={fieldError(error, 'name')} />
            <TextArea id="group-description" label="Description" value={description} onValue={setDescription} error={fieldError(error, 'description')} rows={3} />
            <button type="submit">Save</button>
          </form>
        </section>
      )}
      <h2>Subgroups</h2>
      <DataTable<Group>
        id="subgroups"
        title="Subgroups"
        path="/api/groups"
        query={{ parentId: group.id }}
        reloadKey={subKey}
        rowKey={(g) => g.id}
        empty="No subgroups."
        columns={[
          { key: 'name', label: 'Name', render: (g) => <a href={`/groups/${g.id}`}>{g.name}</a>, csv: (g) => g.name },
          { key: 'description', label: 'Description' },
          { key: 'id', label: 'Id', hidden: true },
          { key: 'creationTime', label: 'Created', render: (g) => dateTime(g.creationTime), csv: (g) => dateTime(g.creationTime) },
        ]}
      />
      {admin && (
        <section class="block" aria-labelledby="sub-h">
          <h3 id="sub-h">New subgroup</h3>
          <form onSubmit={createSub} noValidate class="narrow-wide">
            <FormErrors error={subError} fields={['name', 'description']} />
            <Input id="sub-name" label="Subgroup name" value={subName} onValue={setSubName} error={fieldError(subError, 'name')} />
            <TextArea id="sub-description" label="Subgroup description" value={subDescription} onValue={setSubDescription} error={fieldError(subError, 'description')} rows={2} />
            <button type="submit">Create subgroup</button>
          </form>
        </section>
      )}
    </>
  );
}

function GroupUsers({ group }: { group: Group }) {
  return (
    <>
      <h2>Associated users</h2>
      <p class="hint">The users whose account is in this group (not those of its subgroups).</p>
      <div class="actions">
        <a class="button" href="/users/new">
          New user
        </a>
      </div>
      <DataTable<UserRow>
        id="group-users"
        title={`Users of ${group.name}`}
        path="/api/users"
        query={{ groupId: group.id }}
        columns={userColumns}
        rowKey={(u) => u.id}
        filter={(u) => u.group.id === group.id}
        cursorOf={(u) => u.id}
        empty="No user in this group."
      />
    </>
  );
}

interface DeviceTypeRow {
  id: string;
  name: string;
  description?: string;
  group: { id: string };
  payloadType?: string;
  keepAlive?: number;
  creationTime?: number;
}

function GroupDeviceTypes({ group }: { group: Group }) {
  return (
    <>
      <h2>Associated device types</h2>
      <p class="hint">The device types owned by this group (not those of its subgroups).</p>
      <DataTable<DeviceTypeRow>
        id="group-devicetypes"
        title={`Device types of ${group.name}`}
        path="/api/devicetypes"
        query={{ groupId: group.id }}
        rowKey={(t) => t.id}
        filter={(t) => t.group.id === group.id}
        cursorOf={(t) => t.id}
        empty="No device type in this group."
        columns={[
          { key: 'name', label: 'Name', render: (t) => <a href={`/devicetypes/${t.id}`}>{t.name}</a>, csv: (t) => t.name },
          { key: 'description', label: 'Description' },
          { key: 'payloadType', label: 'Display type' },
          { key: 'keepAlive', label: 'Keep-alive (s)' },
          { key: 'id', label: 'Id', hidden: true },
          { key: 'creationTime', label: 'Created', render: (t) => dateTime(t.creationTime), csv: (t) => dateTime(t.creationTime) },
        ]}
      />
    </>
  );
}

function GroupEvents({ group }: { group: Group }) {
  return (
    <>
      <h2>Event configuration</h2>
      <p class="hint">Who is mailed when a device of this group or of its subgroups loses or regains communication.</p>
      <EventConfig base={`/api/groups/${encodeURIComponent(group.id)}`} />
    </>
  );
}

interface ApiUserRow {
  login: string;
  name: string;
  group: { id: string };
  roles: string[];
  creationTime?: number;
}

function ApiAccess({ group }: { group: Group }) {
  const [name, setName] = useState('');
  const [roles, setRoles] = useState<string[]>(['READER']);
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<{ login: string; password: string; name: string } | null>(null);
  const [reload, setReload] = useState(0);

  async function create(e: Event) {
    e.preventDefault();
    setError(null);
    setCreated(null);
    try {
      const r = await post<{ login: string; password: string }>('/api/api-users/create', { name, roles, group: group.id });
      setCreated({ ...r, name });
      setName('');
      setReload((n) => n + 1);
    } catch (err) {
      setError(err);
    }
  }

  return (
    <>
      <h2>API access</h2>
      <p class="hint">
        Credentials for scripts and other systems (HTTP Basic: the login and the password). They belong to this group and act with the roles chosen.
      </p>
      {created && (
        <section class="secret" aria-labelledby="secret-h">
          <h3 id="secret-h">New credential “{created.name}”</h3>
          <p class="alert warning" role="alert">
            Copy the password now: it is shown this once and cannot be shown again. If it is lost, delete this credential and make a new one.
          </p>
          <div>Login</div>
          <CopyText label="login" text={created.login} />
          <div>Password</div>
          <CopyText label="password" text={created.password} />
          <button type="button" class="secondary" onClick={() => setCreated(null)}>
            I have stored it
          </button>
        </section>
      )}
      <DataTable<ApiUserRow>
        id="group-api-users"
        title={`API users of ${group.name}`}
        path="/api/api-users"
        reloadKey={reload}
        rowKey={(a) => a.login}
        filter={(a) => a.group.id === group.id}
        cursorOf={(a) => a.login}
        empty="No API credential in this group."
        columns={[
          { key: 'name', label: 'Name' },
          { key: 'login', label: 'Login', render: (a) => <code class="mono">{a.login}</code> },
          { key: 'roles', label: 'Roles', render: (a) => a.roles.join(', '), csv: (a) => a.roles.join(' ') },
          { key: 'creationTime', label: 'Created', render: (a) => dateTime(a.creationTime), csv: (a) => dateTime(a.creationTime) },
          {
            key: 'actions',
            label: 'Actions',
            csv: () => '',
            render: (a) => (
              <ConfirmButton
                small
                label="Delete"
                question={`Delete the credential ${a.name}? Whatever uses it stops working at once.`}
                onConfirm={async () => {
                  await del(`/api/api-users/${encodeURIComponent(a.login)}`);
                  setReload((n) => n + 1);
                }}
              />
            ),
          },
        ]}
      />
      <section class="block" aria-labelledby="cred-h">
        <h3 id="cred-h">New credential</h3>
        <form onSubmit={create} noValidate class="narrow-wide">
          <FormErrors error={error} fields={['name', 'roles']} />
          <Input id="cred-name" label="Name" value={name} onValue={setName} error={fieldError(error, 'name')} hint="What uses it, e.g. “billing export”." />
          <RoleChoice value={roles} onValue={setRoles} error={fieldError(error, 'roles')} />
          <button type="submit">Create credential</button>
        </form>
      </section>
    </>
  );
}
