// A value to copy (a new API password, a command): shown as text that can be
// selected, with a button that puts it on the clipboard.
import { useState } from 'preact/hooks';

export function CopyText({ label, text }: { label: string; text: string }) {
  const [status, setStatus] = useState('');
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setStatus('Copied.');
    } catch {
      setStatus('The browser refused the clipboard: select the text and copy it.');
    }
  }
  return (
    <div class="copy">
      <code class="mono" data-testid={label}>
        {text}
      </code>
      <button type="button" class="secondary" onClick={copy} aria-label={`Copy ${label}`}>
        Copy
      </button>
      <span class="muted" role="status">
        {status}
      </span>
    </div>
  );
}
