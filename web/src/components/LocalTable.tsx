// A table of rows the console already holds (a job's failures, a file's
// preview, the provisioning summary): no paging from the server, but the same
// look and the same CSV export as every DataTable.
import type { ComponentChildren } from 'preact';
import { download, pick, toCsv, value } from '../lib/format';

export interface LocalColumn<T> {
  key: string;
  label: string;
  render?: (row: T) => ComponentChildren;
  csv?: (row: T) => string;
}

interface Props<T> {
  title: string; // the caption and the export's file name
  columns: LocalColumn<T>[];
  rows: T[];
  rowKey: (row: T, index: number) => string;
  rowClass?: (row: T) => string | undefined;
  empty?: string;
  limit?: number; // rows shown (all of them are exported)
  exportable?: boolean;
}

export function LocalTable<T>(p: Props<T>) {
  const shown = p.limit !== undefined ? p.rows.slice(0, p.limit) : p.rows;
  function exportCsv() {
    const csv = toCsv(
      p.columns.map((c) => c.label),
      p.rows.map((r) => p.columns.map((c) => (c.csv ? c.csv(r) : value(pick(r, c.key))))),
    );
    download(`${p.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.csv`, csv);
  }
  return (
    <div class="datatable">
      {p.exportable !== false && (
        <div class="toolbar">
          <button type="button" class="secondary" onClick={exportCsv} disabled={p.rows.length === 0}>
            Export CSV
          </button>
          {p.limit !== undefined && p.rows.length > p.limit && (
            <span class="muted">
              Showing the first {p.limit} of {p.rows.length} rows; the export has them all.
            </span>
          )}
        </div>
      )}
      <div class="table-wrap">
        <table>
          <caption class="sr-only">{p.title}</caption>
          <thead>
            <tr>
              {p.columns.map((c) => (
                <th scope="col" key={c.key}>
                  {c.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map((row, i) => (
              <tr key={p.rowKey(row, i)} class={p.rowClass?.(row)}>
                {p.columns.map((c) => (
                  <td key={c.key}>{c.render ? c.render(row) : value(pick(row, c.key))}</td>
                ))}
              </tr>
            ))}
            {p.rows.length === 0 && (
              <tr>
                <td colSpan={Math.max(p.columns.length, 1)} class="muted">
                  {p.empty ?? 'Nothing to show.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}
