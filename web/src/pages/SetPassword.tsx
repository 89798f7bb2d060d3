// The page of the invitation (and reset) link: <public_url>/set-password#token=…
// The token is in the fragment, which browsers never send to a server.
import { useEffect, useState } from 'preact/hooks';
import { FormErrors, Input, Notice, fieldError } from '../components/form';
import { ApiError, request } from '../lib/api';

export function SetPassword() {
  const [token] = useState(() => new URLSearchParams(location.hash.slice(1)).get('token') ?? '');
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  useEffect(() => {
    document.title = 'Set your password · Roost';
    // Keep the token out of the history and of anything that reads the URL later.
    if (location.hash) history.replaceState(null, '', location.pathname);
  }, []);

  async function submit(e: Event) {
    e.preventDefault();
    if (password !== again) {
      setError(new ApiError(400, 'the two passwords differ', [{ field: 'again', message: 'the two passwords differ' }], {}));
      return;
    }
    try {
      await request('POST', '/api/users/set-password', { body: { token, password }, quiet401: true });
      setDone(true);
    } catch (err) {
      setError(err);
    }
  }

  return (
    <main id="main" class="narrow">
      <h1>Set your password</h1>
      {!token && <Notice kind="error">This page needs the link from your invitation email.</Notice>}
      {done ? (
        <Notice kind="success">
          Your password is set. <a href="/login">Log in</a>.
        </Notice>
      ) : (
        <form onSubmit={submit} noValidate>
          <FormErrors error={error} fields={['password', 'again']} />
          <Input id="password" label="New password (12 characters or more)" type="password" autoComplete="new-password" value={password} onValue={setPassword} error={fieldError(error, 'password') ?? fieldError(error, 'token')} required />
          <Input id="again" label="The same password again" type="password" autoComplete="new-password" value={again} onValue={setAgain} error={fieldError(error, 'again')} required />
          <button type="submit" disabled={!token}>
            Set password
          </button>
        </form>
      )}
    </main>
  );
}
