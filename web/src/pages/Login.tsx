import { useEffect, useState } from 'preact/hooks';
import { FormErrors, Input, Select, fieldError } from '../components/form';
import { ApiError } from '../lib/api';
import { navigate } from '../lib/router';
import { login } from '../lib/session';

export function Login() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [groups, setGroups] = useState<{ id: string; name: string }[] | null>(null);
  const [group, setGroup] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    document.title = 'Log in · Roost';
  }, []);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await login(email, password, groups ? group : undefined);
      if (r.groups) {
        setGroups(r.groups);
        setGroup(r.groups[0]?.id ?? '');
        return;
      }
      const back = new URLSearchParams(location.search).get('next');
      navigate(back && back.startsWith('/') && !back.startsWith('//') ? back : '/', true);
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) {
        setError(new ApiError(429, `Too many attempts: try again in ${err.message.match(/\d+/)?.[0] ?? 'a few'} seconds or later.`, [], {}));
      } else setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" class="narrow">
      <h1>Log in to Roost</h1>
      <form onSubmit={submit} noValidate>
        <FormErrors error={error} fields={['email', 'password', 'group']} />
        <Input id="email" label="Email" type="email" autoComplete="username" value={email} onValue={setEmail} error={fieldError(error, 'email')} required />
        <Input id="password" label="Password" type="password" autoComplete="current-password" value={password} onValue={setPassword} error={fieldError(error, 'password')} required />
        {groups && (
          <Select id="group" label="Group (this login opens accounts in several groups)" value={group} onValue={setGroup} options={groups.map((g) => ({ value: g.id, label: g.name }))} />
        )}
        <button type="submit" disabled={busy}>
          Log in
        </button>
      </form>
    </main>
  );
}
