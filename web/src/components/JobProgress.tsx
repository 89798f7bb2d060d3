// The progress of a bulk job (series registration, bulk edit): polls
// GET /api/jobs/{jobId} until jobDone, then shows the successes and each
// failed device with the server's message.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get } from '../lib/api';
import { LocalTable } from './LocalTable';

export interface JobStatus {
  jobDone: boolean;
  total: number;
  status: { success: number; failed: { id: string; message: string }[] };
}

export function JobProgress({ jobId, total, what }: { jobId: string; total: number; what: string }) {
  const [job, setJob] = useState<JobStatus | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    async function poll() {
      try {
        const j = await get<JobStatus>(`/api/jobs/${encodeURIComponent(jobId)}`);
        if (!live) return;
        setJob(j);
        setError('');
        if (!j.jobDone) timer = setTimeout(poll, 1000);
      } catch (e) {
        if (!live) return;
        setError(e instanceof ApiError ? e.message : String(e));
        timer = setTimeout(poll, 3000);
      }
    }
    poll();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [jobId]);

  const failed = job?.status.failed ?? [];
  const done = (job?.status.success ?? 0) + failed.length;
  const count = job?.total ?? total;
  return (
    <section class="block job" aria-labelledby="job-title">
      <h2 id="job-title">{what}</h2>
      <p class="muted">
        Job <code class="mono">{jobId}</code>
      </p>
      {error && (
        <div class="alert error" role="alert">
          {error}
        </div>
      )}
      <progress max={Math.max(count, 1)} value={done} aria-label="Devices processed">
        {done} of {count}
      </progress>
      <p role="status" data-testid="job-state">
        {!job
          ? 'Waiting for the job…'
          : job.jobDone
            ? `Done: ${job.status.success} of ${count} succeeded, ${failed.length} failed.`
            : `Running: ${done} of ${count} processed…`}
      </p>
      {failed.length > 0 && (
        <>
          <h3>Failed devices</h3>
          <LocalTable
            title="Failed devices"
            rows={failed}
            rowKey={(r, i) => `${r.id}-${i}`}
            columns={[
              { key: 'id', label: 'Device ID', render: (r) => <code class="mono">{r.id}</code> },
              { key: 'message', label: 'Why' },
            ]}
            limit={500}
          />
        </>
      )}
    </section>
  );
}
