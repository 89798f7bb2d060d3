// Who is mailed about communication loss and restoration, for a device, a
// device type or a group (…/events/config). ADMIN changes it; others read.
import { useState } from 'preact/hooks';
import { post } from '../lib/api';
import { dateTime } from '../lib/format';
import { isAdmin } from '../lib/session';
import { ConfirmButton } from './Confirm';
import { DataTable } from './DataTable';
import { Checkbox, FormErrors, TextArea, fieldError } from './form';

interface Config {
  id: string;
  kinds: string[];
  emails: string[];
  creationTime: number;
}

const KINDS = [
  { kind: 'COMMUNICATION_LOSS', label: 'Communication loss' },
  { kind: 'COMMUNICATION_RESTORED', label: 'Communication restored' },
];

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
      setReload((n) => n + 1);
    } catch (err) {
      setError(err);
    }
  }

  const kindsError = fieldError(error, 'kinds');
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
          { key: 'creationTime', label: 'Created', render: (c) => dateTime(c.creationTime), csv: (c) => dateTime(c.creationTime) },
          ...(admin
            ? [
                {
                  key: 'actions',
                  label: 'Actions',
                  csv: () => '',
                  render: (c: Config) => (
                    <ConfirmButton
                      small
                      label="Delete"
                      question={`Stop mailing ${c.emails.join(', ')}?`}
                      onConfirm={async () => {
                        await post(`${base}/events/config/${encodeURIComponent(c.id)}/delete`);
                        setReload((n) => n + 1);
                      }}
                    />
                  ),
                },
              ]
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
              <Checkbox
                key={k.kind}
                id={`kind-${k.kind}`}
                label={k.label}
                checked={kinds.includes(k.kind)}
                onValue={(on) => setKinds(KINDS.map((x) => x.kind).filter((x) => (x === k.kind ? on : kinds.includes(x))))}
              />
            ))}
            {kindsError && (
              <div class="error" role="alert">
                {kindsError}
              </div>
            )}
          </fieldset>
          <TextArea id="ec-emails" label="Email addresses (one per line)" rows={3} value={emails} onValue={setEmails} error={fieldError(error, 'emails')} hint="1 to 20 addresses; commas also separate." />
          <button type="submit">Add</button>
        </form>
      )}
    </section>
  );
}
