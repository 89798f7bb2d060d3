// Every list of the console: server-side keyset paging (a page costs one
// index range, so it stays fast at a million rows), a column chooser that is
// remembered per list, and a CSV export of everything the filters select.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, afterOf, fetchAll, get, withQuery, type Page } from '../lib/api';
import { download, pick, toCsv, value } from '../lib/format';

export interface Column<T> {
  key: string;
  label: string;
  render?: (row: T) => ComponentChildren;
  csv?: (row: T) => string;
  hidden?: boolean; // not shown until chosen
}

interface Props<T> {
  id: string; // remembers the chosen columns under this name
  title: string; // the table's caption and the export's file name
  path: string;
  query?: Record<string, string | number | undefined>;
  columns: Column<T>[];
  rowKey: (row: T) => string;
  pageSize?: number;
  exportMax?: number;
  empty?: string;
  reloadKey?: unknown;
  // Rows the API cannot select itself (e.g. a group's own users: GET
  // /api/users?groupId= also lists its subgroups' users) are picked here. The table then reads pages of
  // 1000 until it has a page of matches; `cursorOf` gives the key the list is
  // ordered by (its `after`), so the next page goes on right after the last
  // row shown and no row is read twice.
  filter?: (row: T) => boolean;
  cursorOf?: (row: T) => string;
}

// One page of matching rows from a list the server cannot filter.
async function filteredPage<T>(path: string, query: Record<string, string | number | undefined>, size: number,
                               after: string | undefined, keep: (row: T) => boolean,
                               cursorOf: (row: T) => string): Promise<Page<T>> {
  const data: T[] = [];
  let cursor = after;
  for (;;) {
    const page = await get<Page<T>>(path, { ...query, limit: 1000, after: cursor });
    for (const row of page.data) {
      if (!keep(row)) continue;
      if (data.length === size) {
        return { data, paging: { next: withQuery(path, { ...query, after: cursorOf(data[data.length - 1]) }) } };
      }
      data.push(row);
    }
    cursor = afterOf(page.paging?.next);
    if (!cursor) return { data, paging: {} };
  }
}

function loadColumns(id: string, columns: Column<unknown>[]): string[] {
  try {
    const saved = JSON.parse(localStorage.getItem(`roost.columns.${id}`) ?? 'null');
    if (Array.isArray(saved)) return saved.filter((k) => columns.some((c) => c.key === k));
  } catch {
    /* a damaged entry: use the defaults */
  }
  return columns.filter((c) => !c.hidden).map((c) => c.key);
}

export function DataTable<T>(p: Props<T>) {
  const [shown, setShown] = useState<string[]>(() => loadColumns(p.id, p.columns as Column<unknown>[]));
  const [page, setPage] = useState<Page<T> | null>(null);
  const [error, setError] = useState<string>('');
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [exporting, setExporting] = useState<string>('');
  const queryKey = JSON.stringify(p.query ?? {});
  const cursor = cursors[cursors.length - 1];

  useEffect(() => {
    setCursors([undefined]);
  }, [queryKey, p.path]);

  useEffect(() => {
    let live = true;
    setError('');
    const load =
      p.filter && p.cursorOf
        ? filteredPage<T>(p.path, p.query ?? {}, p.pageSize ?? 50, cursor, p.filter, p.cursorOf)
        : get<Page<T>>(p.path, { ...p.query, limit: p.pageSize ?? 50, after: cursor });
    load
      .then((r) => live && setPage(r))
      .catch((e) => live && (setPage(null), setError(e instanceof ApiError ? e.message : String(e))));
    return () => {
      live = false;
    };
  }, [queryKey, p.path, cursor, p.reloadKey]);

  const visible = p.columns.filter((c) => shown.includes(c.key));

  function toggle(key: string, on: boolean) {
    const next = p.columns.map((c) => c.key).filter((k) => (k === key ? on : shown.includes(k)));
    setShown(next);
    localStorage.setItem(`roost.columns.${p.id}`, JSON.stringify(next));
  }

  async function exportCsv() {
    const max = p.exportMax ?? 100000;
    setExporting('0 rows');
    try {
      let rows = await fetchAll<T>(p.path, p.query ?? {}, max, (n) => setExporting(`${n} rows`));
      if (p.filter) rows = rows.filter(p.filter);
      const csv = toCsv(
        visible.map((c) => c.label),
        rows.map((r) => visible.map((c) => (c.csv ? c.csv(r) : value(pick(r, c.key))))),
      );
      download(`${p.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.csv`, csv);
      setExporting(rows.length >= max ? `exported the first ${max} rows` : '');
    } catch (e) {
      setExporting('export failed: ' + (e instanceof Error ? e.message : String(e)));
    }
  }

  const next = afterOf(page?.paging?.next);
  return (
    <div class="datatable">
      <div class="toolbar">
        <details class="columns">
          <summary>Columns</summary>
          <fieldset>
            <legend>Shown columns</legend>
            {p.columns.map((c) => (
              <label key={c.key}>
                <input type="checkbox" checked={shown.includes(c.key)} onChange={(e) => toggle(c.key, (e.target as HTMLInputElement).checked)} />
                {c.label}
              </label>
            ))}
          </fieldset>
        </details>
        <button type="button" class="secondary" onClick={exportCsv} disabled={exporting !== '' && !exporting.includes('export')}>
          Export CSV
        </button>
        {exporting && <span class="muted" role="status">{exporting}</span>}
      </div>
      {error && (
        <div class="alert error" role="alert">
          {error}
        </div>
      )}
      <div class="table-wrap" tabIndex={0} role="region" aria-label={`${p.title} table`}>
        <table>
          <caption class="sr-only">{p.title}</caption>
          <thead>
            <tr>
              {visible.map((c) => (
                <th scope="col" key={c.key}>
                  {c.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {page?.data.map((row) => (
              <tr key={p.rowKey(row)}>
                {visible.map((c) => (
                  <td key={c.key}>{c.render ? c.render(row) : value(pick(row, c.key))}</td>
                ))}
              </tr>
            ))}
            {page && page.data.length === 0 && (
              <tr>
                <td colSpan={Math.max(visible.length, 1)} class="muted">
                  {p.empty ?? 'Nothing to show.'}
                </td>
              </tr>
            )}
            {!page && !error && (
              <tr>
                <td colSpan={Math.max(visible.length, 1)} class="muted">
                  Loading…
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label={`${p.title} pages`}>
        <button type="button" class="secondary" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous
        </button>
        <span class="muted">Page {cursors.length}</span>
        <button type="button" class="secondary" disabled={!next} onClick={() => setCursors([...cursors, next])}>
          Next
        </button>
      </nav>
    </div>
  );
}
