// The console's one way to the Roost API: same origin, the session cookie,
// and the CSRF header on every request that may change state (docs/api.md,
// "Authentication"). Errors come back as ApiError with the server's
// per-field messages, so forms can show each one next to its field.

export interface FieldProblem {
  field?: string;
  line?: number;
  id?: string;
  message: string;
}

// Whether a problem the server named `problemField` belongs to the form field
// `field`. A form that sends one item of a list route ([{...}]) gets its
// problems named "[0].url" or "data[0].url".
function claims(problemField: string | undefined, field: string): boolean {
  if (!problemField) return false;
  const f = problemField.replace(/^(data)?\[0\]\.?/, '');
  return f === field || f.startsWith(field + '.') || f.startsWith(field + '[');
}

export class ApiError extends Error {
  readonly status: number;
  readonly problems: FieldProblem[];
  readonly body: Record<string, unknown>;
  constructor(status: number, message: string, problems: FieldProblem[], body: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.problems = problems;
    this.body = body;
  }
  // The message for one field: the server names fields as the request body
  // does ("payloadConfig", "ids[3].pac"); a problem under a field counts too.
  forField(field: string): string | undefined {
    return this.problems.find((q) => claims(q.field, field))?.message;
  }
  // Problems that no field of the form shows, for a summary above the form.
  unclaimed(fields: string[]): string[] {
    const out = this.problems
      .filter((p) => !fields.some((f) => claims(p.field, f)))
      .map((p) => (p.line ? `line ${p.line}: ${p.message}` : p.message));
    return out.length ? out : fields.some((f) => this.forField(f)) ? [] : [this.message];
  }
}

let csrfToken = '';
let onUnauthorized: () => void = () => {};

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

export function setUnauthorizedHandler(f: () => void): void {
  onUnauthorized = f;
}

export interface RequestOptions {
  body?: unknown;
  rawBody?: BodyInit;
  contentType?: string;
  query?: Record<string, string | number | undefined | null>;
  // Do not treat 401 as "the session ended" (the login form itself).
  quiet401?: boolean;
}

export function withQuery(path: string, query?: RequestOptions['query']): string {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path;
}

export async function request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  let body: BodyInit | undefined;
  if (opts.rawBody !== undefined) {
    body = opts.rawBody;
    if (opts.contentType) headers['Content-Type'] = opts.contentType;
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json';
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(withQuery(path, opts.query), { method, headers, body, credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, 'the server cannot be reached: ' + String(e), [], {});
  }
  const text = await res.text();
  let parsed: unknown = undefined;
  if (text && (res.headers.get('Content-Type') ?? '').includes('json')) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  if (!res.ok) {
    const obj = (parsed && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
    const message = typeof obj.message === 'string' ? obj.message : `${res.status} ${res.statusText}`;
    const problems = Array.isArray(obj.errors) ? (obj.errors as FieldProblem[]) : [];
    if (res.status === 401 && !opts.quiet401) onUnauthorized();
    throw new ApiError(res.status, message, problems, obj);
  }
  return (parsed === undefined ? text : parsed) as T;
}

export const get = <T = unknown>(path: string, query?: RequestOptions['query']) => request<T>('GET', path, { query });
export const post = <T = unknown>(path: string, body?: unknown, query?: RequestOptions['query']) =>
  request<T>('POST', path, { body: body ?? {}, query });
export const del = <T = unknown>(path: string) => request<T>('DELETE', path);

// One page of a list route: {"data": [...], "paging": {"next": url}}.
export interface Page<T> {
  data: T[];
  paging?: { next?: string };
}

// The cursor of a `paging.next` URL, so that the console can go on from it
// with the same filters (keyset paging: any page costs one index range).
export function afterOf(next: string | undefined): string | undefined {
  if (!next) return undefined;
  const u = new URL(next, location.origin);
  return u.searchParams.get('after') ?? undefined;
}

// Every page of a list, for CSV exports, up to `max` rows.
export async function fetchAll<T>(path: string, query: RequestOptions['query'], max: number,
                                  progress?: (n: number) => void): Promise<T[]> {
  const rows: T[] = [];
  let next: string | undefined = withQuery(path, { ...query, limit: 1000 });
  while (next && rows.length < max) {
    const page: Page<T> = await request<Page<T>>('GET', next);
    rows.push(...page.data);
    progress?.(rows.length);
    next = page.paging?.next;
    if (next) {
      const u = new URL(next, location.origin);
      next = u.pathname + u.search;
    }
  }
  return rows.slice(0, max);
}
