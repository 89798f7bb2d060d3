// Who is mailed about communication loss and restoration, for a device, a
// device type or a group (…/events/config). ADMIN changes it; others read.
import { useState } from 'preact/hooks';
import { post } from '../lib/api';
import { isAdmin } from '../lib/session';
import { DataTable } from './DataTable';
import { Checkbox, FormErrors, TextArea, fieldError } from './form';

interface Config {
  id: string;
  kinds: string[];
  emails: string[];
  creationTime: number;
}

const KINDS = ['COMMUNICATION_LOSS', 'COMMUNICATION_RESTORED'];

export function EventConfig({ base }: { base: string }) {
  const [reload, setReload] = useState(0);
  const [kinds, setKinds] = useState<string[]>(['COMMUNICATION_LOSS']);
  const [emails, setEmails] = useState('');
  const [error, setError] = useState<unknown>(null);
  const admin = isAdmin();

  async function add(e: Event) {
    e.preventDefault();
    setError(null);
    try {
      await post(`${base}/events/config/new`, { kinds, emails: emails.split(/[\s,;]+/).filter(Boolean) });
      setEmails('');
      setReload(reload + 1);
    } catch (err) {
      setError(err);
    }
  }

  async function remove(id: string) {
    if (!confirm('Delete this event configuration?')) return;
    await post(`${base}/events/config/${id}/delete`).catch((err) => setError(err));
    setReload(reload + 1);
  }

  return (
    <section aria-label="Event configuration">
      <DataTable<Config>
        id="event-config"
        title="Event configurations"
        path={`${base}/events/config`}
        reloadKey={reload}
        rowKey={(c) => c.id}
        empty="Nobody is mailed about events yet."
        columns={[
          { key: 'kinds', label: 'Events', render: (c) => c.kinds.join(', '), csv: (c) => c.kinds.join(' ') },
          { key: 'emails', label: 'Emails', render: (c) => c.emails.join(', '), csv: (c) => c.emails.join(' ') },
          ...(admin
            ? [{ key: 'actions', label: 'Actions', render: (c: Config) => <button type="button" class="secondary" onClick={() => remove(c.id)}>Delete</button>, csv: () => '' }]
            : []),
        ]}
      />
      {admin && (
        <form onSubmit={add} class="block narrow" noValidate>
          <h2>New event configuration</h2>
          <FormErrors error={error} fields={['kinds', 'emails']} />
          <fieldset>
            <legend>Events</legend>
            {KINDS.map((k) => (
              <Checkbox key={k} id={`kind-${k}`} label={k} checked={kinds.includes(k)} onValue={(on) => setKinds(on ? [...kinds, k] : kinds.filter((x) => x !== k))} />
            ))}
            {fieldError(error, 'kinds') && <div class="error">{fieldError(error, 'kinds')}</div>}
          </fieldset>
          <TextArea id="ec-emails" label="Email addresses (one per line)" rows={3} value={emails} onValue={setEmails} error={fieldError(error, 'emails')} />
          <button type="submit">Add</button>
        </form>
      )}
    </section>
  );
}
