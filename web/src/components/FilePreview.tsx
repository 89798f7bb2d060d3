// The preview of an uploaded file, checked in the browser: a summary, every
// bad line with its number and what is wrong, then the first lines as they
// will be read.
import type { SeriesPreview, PreviewLine } from '../lib/series';
import { LocalTable } from './LocalTable';

export function FilePreview({ preview, columns }: { preview: SeriesPreview; columns: string[] }) {
  const bad = preview.lines.filter((l) => l.problem);
  const good = preview.lines.length - bad.length;
  return (
    <section class="block preview" aria-labelledby="preview-h">
      <h2 id="preview-h">Preview</h2>
      <p role="status" data-testid="preview-summary">
        {preview.fileProblem
          ? `The file cannot be used: ${preview.fileProblem}.`
          : bad.length
            ? `${bad.length} bad line${bad.length === 1 ? '' : 's'} of ${preview.lines.length}: fix the file and choose it again.`
            : `${good} device line${good === 1 ? '' : 's'}, no problem found.`}
        {preview.header ? ` Header: ${preview.header.join(preview.separator ?? ';')}.` : ''}
        {preview.separator ? ` Separator: "${preview.separator}".` : ''}
      </p>
      {bad.length > 0 && (
        <>
          <h3>Bad lines</h3>
          <LocalTable<PreviewLine>
            title="Bad lines"
            rows={bad}
            limit={200}
            rowKey={(l) => String(l.line)}
            rowClass={() => 'bad'}
            columns={[
              { key: 'line', label: 'Line' },
              { key: 'text', label: 'Content', render: (l) => <code class="mono">{l.fields.join(preview.separator ?? ';')}</code>, csv: (l) => l.fields.join(preview.separator ?? ';') },
              { key: 'problem', label: 'Problem', render: (l) => <span class="problem">{l.problem}</span> },
            ]}
          />
        </>
      )}
      <h3>First lines</h3>
      <LocalTable<PreviewLine>
        title="First lines"
        rows={preview.lines.slice(0, 20)}
        exportable={false}
        rowKey={(l) => String(l.line)}
        rowClass={(l) => (l.problem ? 'bad' : undefined)}
        columns={[
          { key: 'line', label: 'Line' },
          ...columns.map((c, k) => ({ key: `f${k}`, label: c, render: (l: PreviewLine) => <code class="mono">{l.fields[k] ?? ''}</code> })),
          { key: 'problem', label: 'Check', render: (l) => (l.problem ? <span class="problem">{l.problem}</span> : 'ok') },
        ]}
      />
    </section>
  );
}
