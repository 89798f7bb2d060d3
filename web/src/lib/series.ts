// The series files the console uploads, checked in the browser before they
// are sent, with the server's rules (docs/api.md "Series upload",
// src/factory/device_series.h) so that bad lines are flagged by number first.

export interface PreviewLine {
  line: number; // 1-based, as the server counts
  fields: string[];
  problem?: string;
}

export interface SeriesPreview {
  separator: ';' | ',' | null;
  header: string[] | null; // the header's column names, lowercased
  lines: PreviewLine[]; // data lines only
  problems: number; // lines with a problem, plus a whole-file problem
  fileProblem?: string;
}

// Splits one line on the separator; double quotes may hold the separator.
// Each field is trimmed of spaces and tabs and of one pair of quotes.
export function splitLine(text: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      if (quoted && text[i + 1] === '"') {
        cur += '"';
        i++;
      } else quoted = !quoted;
      continue;
    }
    if (c === sep && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out.map((f) => f.replace(/^[ \t]+|[ \t]+$/g, ''));
}

function lines(text: string): string[] {
  return text.replace(/^\uFEFF/, '').split(/\r?\n/);
}

const isBlank = (s: string) => /^[ \t]*$/.test(s);

// The device ID the server keeps: uppercase hex without leading zeros.
export function canonicalId(id: string): string {
  return id.replace(/^0x/i, '').replace(/^0+(?=.)/, '').toUpperCase();
}

export const ID_RE = /^(0x)?[0-9a-fA-F]{1,8}$/;
export const PAC_RE = /^[0-9a-fA-F]{16}$/;

const SERIES_HEADERS: Record<string, 'id' | 'pac'> = {
  id: 'id',
  pac: 'pac',
  'device id': 'id',
  deviceid: 'id',
  device_id: 'id',
};

// `id;pac` (or `id,pac`) per line, with an optional header.
export function parseSeries(text: string): SeriesPreview {
  const all = lines(text);
  const preview: SeriesPreview = { separator: null, header: null, lines: [], problems: 0 };
  let idCol = 0;
  let pacCol = 1;
  const seen = new Map<string, number>();
  for (let i = 0; i < all.length; i++) {
    const raw = all[i];
    if (isBlank(raw)) continue;
    const lineNo = i + 1;
    if (preview.separator === null) {
      preview.separator = raw.includes(';') ? ';' : raw.includes(',') ? ',' : null;
      const names = splitLine(raw, preview.separator ?? ';').map((f) => f.toLowerCase().replace(/\s+/g, ' '));
      if (names.length === 2 && names.every((n) => SERIES_HEADERS[n]) && SERIES_HEADERS[names[0]] !== SERIES_HEADERS[names[1]]) {
        preview.header = names;
        idCol = SERIES_HEADERS[names[0]] === 'id' ? 0 : 1;
        pacCol = 1 - idCol;
        continue;
      }
    }
    const sep = preview.separator ?? ';';
    const other = sep === ';' ? ',' : ';';
    const fields = splitLine(raw, sep);
    const entry: PreviewLine = { line: lineNo, fields };
    if (fields.length !== 2) {
      entry.problem =
        fields.length === 1 && raw.includes(other)
          ? `uses "${other}" but this file separates with "${sep}"`
          : `expected 2 fields (ID${sep}PAC), found ${fields.length}`;
    } else {
      const id = fields[idCol];
      const pac = fields[pacCol];
      if (!ID_RE.test(id)) entry.problem = `ID "${id}" is not 1 to 8 hex digits`;
      else if (!PAC_RE.test(pac)) entry.problem = `PAC "${pac}" is not 16 hex digits`;
      else {
        const key = canonicalId(id);
        const first = seen.get(key);
        if (first !== undefined) entry.problem = `duplicate of line ${first}`;
        else seen.set(key, lineNo);
      }
      entry.fields = [id, pac];
    }
    if (entry.problem) preview.problems++;
    preview.lines.push(entry);
  }
  if (preview.lines.length === 0) {
    preview.fileProblem = 'the file has no device line';
    preview.problems++;
  }
  return preview;
}

// "Edit series": a CSV with a header naming its columns — id first, then any
// of name, lat, lng, deviceTypeId, productCertificate — turned into the items
// of POST /api/devices/bulk/edit. An empty cell leaves that field unchanged.
export const EDIT_COLUMNS = ['id', 'name', 'lat', 'lng', 'deviceTypeId', 'productCertificate'] as const;
export type EditColumn = (typeof EDIT_COLUMNS)[number];

export interface EditPreview extends SeriesPreview {
  columns: EditColumn[];
  items: Record<string, string | number>[];
}

export function parseEditSeries(text: string): EditPreview {
  const all = lines(text);
  const out: EditPreview = { separator: null, header: null, lines: [], problems: 0, columns: [], items: [] };
  const seen = new Map<string, number>();
  for (let i = 0; i < all.length; i++) {
    const raw = all[i];
    if (isBlank(raw)) continue;
    const lineNo = i + 1;
    if (out.separator === null) {
      out.separator = raw.includes(';') ? ';' : ',';
      const names = splitLine(raw, out.separator);
      const cols: EditColumn[] = [];
      for (const n of names) {
        const c = EDIT_COLUMNS.find((x) => x.toLowerCase() === n.toLowerCase());
        if (!c || cols.includes(c)) {
          out.fileProblem = `line ${lineNo}: the header must name the columns (id, then any of name, lat, lng, deviceTypeId, productCertificate); "${n}" is ${c ? 'repeated' : 'not one of them'}`;
          out.problems++;
          return out;
        }
        cols.push(c);
      }
      if (cols[0] !== 'id' || cols.length < 2) {
        out.fileProblem = `line ${lineNo}: the header must start with id and name at least one other column`;
        out.problems++;
        return out;
      }
      out.columns = cols;
      out.header = names.map((n) => n.toLowerCase());
      continue;
    }
    const fields = splitLine(raw, out.separator);
    const entry: PreviewLine = { line: lineNo, fields };
    const item: Record<string, string | number> = {};
    if (fields.length !== out.columns.length) {
      entry.problem = `expected ${out.columns.length} fields, found ${fields.length}`;
    } else {
      out.columns.forEach((c, k) => {
        const v = fields[k];
        if (entry.problem || (v === '' && c !== 'id')) return;
        if (c === 'id') {
          if (!ID_RE.test(v)) entry.problem = `ID "${v}" is not 1 to 8 hex digits`;
          else {
            const first = seen.get(canonicalId(v));
            if (first !== undefined) entry.problem = `duplicate of line ${first}`;
            else seen.set(canonicalId(v), lineNo);
            item.id = v;
          }
        } else if (c === 'lat' || c === 'lng') {
          const n = Number(v);
          const max = c === 'lat' ? 90 : 180;
          if (!/^-?\d+(\.\d+)?$/.test(v) || Math.abs(n) > max) entry.problem = `${c} "${v}" is not a number between -${max} and ${max}`;
          else item[c] = n;
        } else if (c === 'name' && v.length > 200) {
          entry.problem = 'name is longer than 200 characters';
        } else item[c] = v;
      });
      if (!entry.problem && Object.keys(item).length < 2) entry.problem = 'nothing to change on this line';
    }
    if (entry.problem) out.problems++;
    else out.items.push(item);
    out.lines.push(entry);
  }
  if (!out.fileProblem && out.lines.length === 0) {
    out.fileProblem = out.header ? 'the file has no device line' : 'the file is empty';
    out.problems++;
  }
  return out;
}
