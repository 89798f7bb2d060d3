// Users (ADMIN): the list, a new user (invited by email), editing one
// (name, timezone, roles, a password that asks for the admin's own), invite
// again, delete (never oneself).
import { useEffect, useState } from 'preact/hooks';
import { ConfirmButton } from '../components/Confirm';
import { DataTable } from '../components/DataTable';
import { FormErrors, Input, Notice, Select, fieldError } from '../components/form';
import { Layout } from '../components/Layout';
import { RoleChoice } from '../components/Roles';
import { ApiError, del, get, post } from '../lib/api';
import { dateTime } from '../lib/format';
import { groupLabel, useGroups } from '../lib/groups';
import { navigate, useLocation } from '../lib/router';
import { isAdmin, useSession } from '../lib/session';

export interface UserRow {
  id: string;
  email: string;
  name: string;
  timezone: string;
  group: { id: string };
  roles: string[];
  passwordSet?: boolean;
  creationTime?: number;
  lastEditionTime?: number;
}

interface InviteResult {
  id?: string;
  emailSent: boolean;
  emailError?: string;
  passwordLinkExpires?: number;
}

function AdminOnly() {
  return <Notice kind="error">Only administrators manage users.</Notice>;
}

// What the server said about the invitation email.
export function InviteOutcome({ r }: { r: InviteResult }) {
  if (r.emailSent) {
    return (
      <Notice kind="success">
        The invitation email was sent
        {r.passwordLinkExpires ? `; its link works until ${dateTime(r.passwordLinkExpires)}` : ''}.
      </Notice>
    );
  }
  return (
    <div class="alert warning" role="status">
      The invitation email was not sent: {r.emailError ?? 'no reason given'}.{' '}
      {r.passwordLinkExpires
        ? 'Use "Invite again" once email works.'
        : 'Set a password for the user below and give it to them another way.'}
    </div>
  );
}

export const userColumns = [
  { key: 'email', label: 'Email', render: (u: UserRow) => <a href={`/users/${encodeURIComponent(u.id)}`}>{u.email}</a>, csv: (u: UserRow) => u.email },
  { key: 'name', label: 'Name' },
  { key: 'roles', label: 'Roles', render: (u: UserRow) => u.roles.join(', '), csv: (u: UserRow) => u.roles.join(' ') },
  { key: 'group.id', label: 'Group', render: (u: UserRow) => <a href={`/groups/${u.group.id}`}>{u.group.id}</a> },
  { key: 'timezone', label: 'Timezone', hidden: true },
  { key: 'passwordSet', label: 'Password set', render: (u: UserRow) => (u.passwordSet ? 'yes' : 'not yet') },
  { key: 'creationTime', label: 'Created', render: (u: UserRow) => dateTime(u.creationTime), csv: (u: UserRow) => dateTime(u.creationTime) },
  { key: 'id', label: 'Id', hidden: true },
];

export function Users() {
  if (!isAdmin()) {
    return (
      <Layout title="Users">
        <AdminOnly />
      </Layout>
    );
  }
  return <UserList />;
}

// The filters are the API's own (`text` in the name or email, `groupId` with
// its subgroups), kept in the URL so a filtered list can be shared.
function UserList() {
  const { query } = useLocation();
  const applied = { text: query.get('text') ?? '', groupId: query.get('groupId') ?? '' };
  const [text, setText] = useState(applied.text);
  const [groupId, setGroupId] = useState(applied.groupId);
  const { groups } = useGroups();
  return (
    <Layout title="Users">
      <form
        class="filters"
        role="search"
        aria-label="Filter users"
        onSubmit={(e) => {
          e.preventDefault();
          const q = new URLSearchParams();
          if (text) q.set('text', text);
          if (groupId) q.set('groupId', groupId);
          const s = q.toString();
          navigate('/users' + (s ? `?${s}` : ''));
        }}
      >
        <Input id="f-text" label="Name or email contains" value={text} onValue={setText} />
        <Select id="f-groupId" label="Group" value={groupId} onValue={setGroupId} options={[{ value: '', label: 'Any' }, ...groups.map((g) => ({ value: g.id, label: groupLabel(g, groups) }))]} />
        <div class="field">
          <button type="submit">Filter</button>
        </div>
      </form>
      <div class="actions">
        <a class="button" href="/users/new">
          New user
        </a>
      </div>
      <DataTable<UserRow>
        id="users"
        title="Users"
        path="/api/users"
        query={{ text: applied.text || undefined, groupId: applied.groupId || undefined }}
        columns={userColumns}
        rowKey={(u) => u.id}
        empty={applied.text || applied.groupId ? 'No user matches these filters.' : 'No user yet.'}
      />
    </Layout>
  );
}

function defaultTimezone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

export function UserNew() {
  const { user } = useSession();
  const { groups, error: groupsError } = useGroups();
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [timezone, setTimezone] = useState(defaultTimezone);
  const [group, setGroup] = useState('');
  const [roles, setRoles] = useState<string[]>(['READER']);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<InviteResult | null>(null);

  if (!isAdmin()) {
    return (
      <Layout title="New user">
        <AdminOnly />
      </Layout>
    );
  }

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await post<InviteResult>('/api/users/create', { email, name, timezone, roles, group: group || user?.group.id });
      setCreated(r);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  if (created) {
    return (
      <Layout title="New user">
        <InviteOutcome r={created} />
        <p>
          <a href={`/users/${encodeURIComponent(created.id ?? '')}`}>Open the user {email}</a> · <a href="/users">All users</a>
        </p>
      </Layout>
    );
  }

  const fields = ['email', 'name', 'timezone', 'group', 'roles'];
  return (
    <Layout title="New user">
      <form onSubmit={submit} noValidate class="narrow-wide">
        <FormErrors error={error} fields={fields} />
        {groupsError && <Notice kind="error">The groups could not be read: {groupsError}</Notice>}
        <Input id="email" label="Email" type="email" autoComplete="off" value={email} onValue={setEmail} error={fieldError(error, 'email')} required />
        <Input id="name" label="Name" value={name} onValue={setName} error={fieldError(error, 'name')} required />
        <Input id="timezone" label="Timezone" value={timezone} onValue={setTimezone} error={fieldError(error, 'timezone')} hint="An IANA name such as Europe/Paris or UTC." />
        <Select
          id="group"
          label="Group"
          value={group || user?.group.id || ''}
          onValue={setGroup}
          options={groups.length ? groups.map((g) => ({ value: g.id, label: groupLabel(g, groups) })) : [{ value: user?.group.id ?? '', label: 'Your group' }]}
          error={fieldError(error, 'group')}
        />
        <RoleChoice value={roles} onValue={setRoles} error={fieldError(error, 'roles')} />
        <p class="hint">The user gets an email with a link to set their password.</p>
        <button type="submit" disabled={busy}>
          Create and invite
        </button>
      </form>
    </Layout>
  );
}

export function UserEdit({ id }: { id: string }) {
  const { user: me } = useSession();
  const [u, setU] = useState<UserRow | null>(null);
  const [loadError, setLoadError] = useState('');
  const [name, setName] = useState('');
  const [timezone, setTimezone] = useState('');
  const [roles, setRoles] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const [password, setPassword] = useState('');
  const [current, setCurrent] = useState('');
  const [pwError, setPwError] = useState<unknown>(null);
  const [pwDone, setPwDone] = useState(false);
  const [invite, setInvite] = useState<InviteResult | null>(null);
  const [inviteError, setInviteError] = useState('');

  useEffect(() => {
    if (!isAdmin()) return;
    get<UserRow>(`/api/users/${encodeURIComponent(id)}`).then(
      (r) => {
        setU(r);
        setName(r.name);
        setTimezone(r.timezone);
        setRoles(r.roles);
      },
      (e) => setLoadError(e instanceof ApiError && e.status === 404 ? 'There is no such user.' : String(e.message ?? e)),
    );
  }, [id]);

  if (!isAdmin()) {
    return (
      <Layout title="User">
        <AdminOnly />
      </Layout>
    );
  }
  if (!u) {
    return <Layout title="User">{loadError ? <Notice kind="error">{loadError}</Notice> : <p>Loading…</p>}</Layout>;
  }
  const self = me?.id === u.id;

  async function save(e: Event) {
    e.preventDefault();
    setError(null);
    setSaved(false);
    try {
      const r = await post<UserRow>('/api/users/edit', { id, name, timezone, roles });
      setU(r);
      setSaved(true);
    } catch (err) {
      setError(err);
    }
  }

  async function setPasswordSubmit(e: Event) {
    e.preventDefault();
    setPwError(null);
    setPwDone(false);
    try {
      await post('/api/users/edit', { id, password, currentPassword: current });
      setPwDone(true);
      setPassword('');
      setCurrent('');
    } catch (err) {
      setPwError(err);
    }
  }

  return (
    <Layout title={`User ${u.email}`}>
      <dl class="props">
        <dt>Email</dt>
        <dd>{u.email}</dd>
        <dt>Group</dt>
        <dd>
          <a href={`/groups/${u.group.id}`}>{u.group.id}</a>
        </dd>
        <dt>Password</dt>
        <dd>{u.passwordSet ? 'set' : 'not set yet (the invitation was not used)'}</dd>
        <dt>Created</dt>
        <dd>{dateTime(u.creationTime)}</dd>
        <dt>Last edited</dt>
        <dd>{dateTime(u.lastEditionTime)}</dd>
      </dl>

      <section class="block" aria-labelledby="edit-h">
        <h2 id="edit-h">Name, timezone and roles</h2>
        <form onSubmit={save} noValidate class="narrow-wide">
          {saved && <Notice kind="success">Saved.</Notice>}
          <FormErrors error={error} fields={['name', 'timezone', 'roles']} />
          <Input id="name" label="Name" value={name} onValue={setName} error={fieldError(error, 'name')} />
          <Input id="timezone" label="Timezone" value={timezone} onValue={setTimezone} error={fieldError(error, 'timezone')} hint="An IANA name such as Europe/Paris or UTC." />
          <RoleChoice value={roles} onValue={setRoles} error={fieldError(error, 'roles')} />
          <button type="submit">Save</button>
        </form>
      </section>

      <section class="block" aria-labelledby="pw-h">
        <h2 id="pw-h">{self ? 'Set my password' : 'Set this user’s password'}</h2>
        <form onSubmit={setPasswordSubmit} noValidate class="narrow">
          {pwDone && <Notice kind="success">The password is set; the user's other sessions have ended.</Notice>}
          <FormErrors error={pwError} fields={['password', 'currentPassword']} />
          <Input id="newPassword" label="New password (12 characters or more)" type="password" autoComplete="new-password" value={password} onValue={setPassword} error={fieldError(pwError, 'password')} />
          <Input
            id="currentPassword"
            label="Your own current password"
            type="password"
            autoComplete="current-password"
            value={current}
            onValue={setCurrent}
            error={fieldError(pwError, 'currentPassword')}
            hint="Setting a password needs yours, to confirm it is you."
          />
          <button type="submit">Set password</button>
        </form>
      </section>

      <section class="block" aria-labelledby="more-h">
        <h2 id="more-h">Invitation and deletion</h2>
        {invite && <InviteOutcome r={invite} />}
        {inviteError && <Notice kind="error">{inviteError}</Notice>}
        <div class="actions">
          <button
            type="button"
            class="secondary"
            onClick={async () => {
              setInvite(null);
              setInviteError('');
              try {
                setInvite(await post<InviteResult>(`/api/users/${encodeURIComponent(id)}/invite`));
              } catch (e) {
                setInviteError(e instanceof Error ? e.message : String(e));
              }
            }}
          >
            Invite again
          </button>
          {!self && (
            <ConfirmButton
              label="Delete user"
              question={`Delete ${u.email}? Their sessions end at once.`}
              confirmLabel="Yes, delete"
              onConfirm={async () => {
                await del(`/api/users/${encodeURIComponent(id)}`);
                navigate('/users');
              }}
            />
          )}
        </div>
        {self && <p class="hint">You cannot delete yourself.</p>}
      </section>
    </Layout>
  );
}
