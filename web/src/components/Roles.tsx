// The five roles and what each may do (docs/api.md, "Roles and visibility"),
// shown next to each checkbox wherever roles are chosen: users and API users.
import { uid } from './form';

export const ROLES: { role: string; summary: string }[] = [
  {
    role: 'ADMIN',
    summary:
      'Everything: users, groups, API users, event configurations, stations, provisioning (import, disable, keys), ' +
      'reporting uplinks, and all a device manager may do.',
  },
  {
    role: 'DEVICE_MANAGER',
    summary:
      'Creates, edits and deletes device types, devices and callbacks; registers devices and series; bulk edits; ' +
      'imports product certificates; sees PACs. Reads events and provisioning.',
  },
  {
    role: 'READER',
    summary: 'Reads device types, devices, messages, statistics, events, callbacks and provisioning; changes nothing and never sees PACs.',
  },
  {
    role: 'FACTORY',
    summary:
      'Imports device credentials, registers devices (one by one, in bulk or as a series) and follows those jobs; ' +
      'reads product certificates. Cannot read device types or devices.',
  },
  {
    role: 'STATION',
    summary: "Reports uplinks through its group's stations; nothing else.",
  },
];

interface Props {
  value: string[];
  onValue: (roles: string[]) => void;
  error?: string;
  legend?: string;
}

export function RoleChoice(p: Props) {
  const base = uid('roles');
  return (
    <fieldset class={'roles' + (p.error ? ' has-error' : '')} aria-describedby={p.error ? `${base}-error` : undefined}>
      <legend>{p.legend ?? 'Roles'}</legend>
      {ROLES.map(({ role, summary }) => {
        const id = `${base}-${role}`;
        return (
          <div class="role" key={role}>
            <input
              id={id}
              type="checkbox"
              checked={p.value.includes(role)}
              aria-describedby={`${id}-what`}
              onChange={(e) => {
                const on = (e.target as HTMLInputElement).checked;
                p.onValue(ROLES.map((r) => r.role).filter((r) => (r === role ? on : p.value.includes(r))));
              }}
            />
            <label for={id}>{role}</label>
            <div class="hint" id={`${id}-what`}>
              {summary}
            </div>
          </div>
        );
      })}
      {p.error && (
        <div class="error" id={`${base}-error`} role="alert">
          {p.error}
        </div>
      )}
    </fieldset>
  );
}
