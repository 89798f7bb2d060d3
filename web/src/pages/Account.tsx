import { useState } from 'preact/hooks';
import { FormErrors, Input, Notice, fieldError } from '../components/form';
import { Layout } from '../components/Layout';
import { ApiError, post } from '../lib/api';
import { useSession } from '../lib/session';

export function Account() {
  const { user } = useSession();
  const [current, setCurrent] = useState('');
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setDone(false);
    setError(null);
    if (password !== again) {
      setError(new ApiError(400, 'the two passwords differ', [{ field: 'again', message: 'the two passwords differ' }], {}));
      return;
    }
    try {
      await post('/api/session/password', { currentPassword: current, password });
      setDone(true);
      setCurrent('');
      setPassword('');
      setAgain('');
    } catch (err) {
      setError(err);
    }
  }

  return (
    <Layout title="Your account">
      <dl class="props">
        <dt>Email</dt>
        <dd>{user?.email}</dd>
        <dt>Name</dt>
        <dd>{user?.name}</dd>
        <dt>Group</dt>
        <dd>
          <a href="/group">{user?.group.id}</a>
        </dd>
        <dt>Roles</dt>
        <dd>{user?.roles.join(', ')}</dd>
      </dl>
      <h2>Change my password</h2>
      <form onSubmit={submit} noValidate class="narrow">
        {done && <Notice kind="success">Your password is changed; your other sessions have ended.</Notice>}
        <FormErrors error={error} fields={['currentPassword', 'password', 'again']} />
        <Input id="currentPassword" label="Current password" type="password" autoComplete="current-password" value={current} onValue={setCurrent} error={fieldError(error, 'currentPassword')} />
        <Input id="newPassword" label="New password (12 characters or more)" type="password" autoComplete="new-password" value={password} onValue={setPassword} error={fieldError(error, 'password')} />
        <Input id="again" label="The new password again" type="password" autoComplete="new-password" value={again} onValue={setAgain} error={fieldError(error, 'again')} />
        <button type="submit">Change password</button>
      </form>
    </Layout>
  );
}
