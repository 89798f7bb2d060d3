// A destructive action asks once more, in the page (no window.confirm, so it
// reads the same with a keyboard and a screen reader): the first button opens
// the question, focus moves to its "Cancel".
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

interface Props {
  label: string; // the button, e.g. "Delete"
  question: ComponentChildren; // "Delete the user ann@example.com?"
  confirmLabel?: string;
  onConfirm: () => Promise<unknown> | void;
  small?: boolean;
}

export function ConfirmButton(p: Props) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (open) cancel.current?.focus();
  }, [open]);
  if (!open) {
    return (
      <button type="button" class={p.small ? 'danger small' : 'danger'} onClick={() => setOpen(true)}>
        {p.label}
      </button>
    );
  }
  return (
    <div class="confirm" role="group" aria-label={p.label}>
      <span>{p.question}</span>
      <button
        type="button"
        class="danger"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError('');
          try {
            await p.onConfirm();
            setOpen(false);
          } catch (e) {
            setError(e instanceof Error ? e.message : String(e));
          } finally {
            setBusy(false);
          }
        }}
      >
        {p.confirmLabel ?? `Yes, ${p.label.toLowerCase()}`}
      </button>
      <button type="button" class="secondary" ref={cancel} onClick={() => setOpen(false)}>
        Cancel
      </button>
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
