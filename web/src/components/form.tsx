// Form pieces that put the server's message for a field next to that field
// (aria-invalid + aria-describedby, so screen readers read it too).
import type { ComponentChildren } from 'preact';
import { ApiError } from '../lib/api';

let counter = 0;
export function uid(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

interface FieldProps {
  id: string;
  label: string;
  error?: string;
  hint?: ComponentChildren;
  children: ComponentChildren;
}

export function Field({ id, label, error, hint, children }: FieldProps) {
  return (
    <div class={'field' + (error ? ' has-error' : '')}>
      <label for={id}>{label}</label>
      {children}
      {hint && <div class="hint" id={`${id}-hint`}>{hint}</div>}
      {error && (
        <div class="error" id={`${id}-error`} role="alert">
          {error}
        </div>
      )}
    </div>
  );
}


interface InputProps {
  id: string;
  label: string;
  value: string;
  onValue: (v: string) => void;
  error?: string;
  hint?: ComponentChildren;
  type?: 'text' | 'email' | 'password' | 'number' | 'search' | 'datetime-local' | 'date';
  required?: boolean;
  autoComplete?: string;
  placeholder?: string;
  readOnly?: boolean;
  inputMode?: 'text' | 'numeric' | 'decimal' | 'email';
}

export function Input(p: InputProps) {
  const described = [p.hint ? `${p.id}-hint` : '', p.error ? `${p.id}-error` : ''].filter(Boolean).join(' ');
  return (
    <Field id={p.id} label={p.label} error={p.error} hint={p.hint}>
      <input
        id={p.id}
        name={p.id}
        type={(p.type ?? 'text') as 'text'}
        value={p.value}
        required={p.required}
        readOnly={p.readOnly}
        autoComplete={p.autoComplete}
        placeholder={p.placeholder}
        inputMode={p.inputMode}
        aria-invalid={p.error ? 'true' : undefined}
        aria-describedby={described || undefined}
        onInput={(e) => p.onValue((e.target as HTMLInputElement).value)}
      />
    </Field>
  );
}

interface TextAreaProps extends Omit<InputProps, 'type' | 'inputMode'> {
  rows?: number;
}

export function TextArea(p: TextAreaProps) {
  const described = [p.hint ? `${p.id}-hint` : '', p.error ? `${p.id}-error` : ''].filter(Boolean).join(' ');
  return (
    <Field id={p.id} label={p.label} error={p.error} hint={p.hint}>
      <textarea
        id={p.id}
        name={p.id}
        rows={p.rows ?? 4}
        value={p.value}
        required={p.required}
        readOnly={p.readOnly}
        placeholder={p.placeholder}
        spellcheck={false}
        aria-invalid={p.error ? 'true' : undefined}
        aria-describedby={described || undefined}
        onInput={(e) => p.onValue((e.target as HTMLTextAreaElement).value)}
      />
    </Field>
  );
}

interface SelectProps {
  id: string;
  label: string;
  value: string;
  onValue: (v: string) => void;
  options: { value: string; label: string }[];
  error?: string;
  hint?: ComponentChildren;
}

export function Select(p: SelectProps) {
  return (
    <Field id={p.id} label={p.label} error={p.error} hint={p.hint}>
      <select
        id={p.id}
        name={p.id}
        value={p.value}
        aria-invalid={p.error ? 'true' : undefined}
        aria-describedby={p.error ? `${p.id}-error` : undefined}
        onChange={(e) => p.onValue((e.target as HTMLSelectElement).value)}
      >
        {p.options.map((o) => (
          <option value={o.value} key={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </Field>
  );
}

export function Checkbox(p: { id: string; label: string; checked: boolean; onValue: (v: boolean) => void }) {
  return (
    <div class="field checkbox">
      <input id={p.id} type="checkbox" checked={p.checked} onChange={(e) => p.onValue((e.target as HTMLInputElement).checked)} />
      <label for={p.id}>{p.label}</label>
    </div>
  );
}

// What the server refused that no field of the form shows.
export function FormErrors({ error, fields }: { error: unknown; fields: string[] }) {
  if (!error) return null;
  const lines = error instanceof ApiError ? error.unclaimed(fields) : [String(error)];
  if (!lines.length) return null;
  return (
    <div class="alert error" role="alert">
      {lines.map((l) => (
        <div key={l}>{l}</div>
      ))}
    </div>
  );
}

export function fieldError(error: unknown, field: string): string | undefined {
  return error instanceof ApiError ? error.forField(field) : undefined;
}

export function Notice({ children, kind = 'info' }: { children: ComponentChildren; kind?: 'info' | 'success' | 'error' }) {
  return (
    <div class={`alert ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}
