-- A job's items (9 MB for a bulk registration of 200 000 devices) are written
-- once and read once, by the worker that claims each chunk: PostgreSQL keeps
-- them out of line but uncompressed, because compressing them on the request's
-- path cost more time than the I/O it saved (docs/benchmarks.md, "Bulk
-- registration"). SQLite never compresses.
{{POSTGRES_ONLY}}ALTER TABLE job_chunks ALTER COLUMN items SET STORAGE EXTERNAL;
