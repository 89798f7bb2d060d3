// A form that sends one chosen file (a CSV report, say): the file, whether it
// is being sent, and why the last attempt was refused.
import { useState } from 'preact/hooks';
import { ApiError } from './api';

export interface FileSubmit {
  file: File | null;
  setFile: (f: File | null) => void;
  busy: boolean;
  error: ApiError | null;
  setError: (e: ApiError | null) => void;
  submit: (e: Event) => Promise<void>;
}

// `submit` runs `send` with the chosen file (nothing without one); a failure
// that is not the API's own refusal is shown like one, with status 0.
export function useFileSubmit(send: (file: File) => Promise<void>): FileSubmit {
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  async function submit(e: Event) {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    setError(null);
    try {
      await send(file);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, String(err), [], {}));
    } finally {
      setBusy(false);
    }
  }
  return { file, setFile, busy, error, setError, submit };
}
