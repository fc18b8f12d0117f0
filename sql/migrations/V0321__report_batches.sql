-- Purpose: the batch reports of POST /api/v1/reports (docs/api.md, "Rapports en lot") and who may use the queue.
--            reports.batches  one row per batch: its public id (unguessable: whoever holds the URL reads the
--                             PDFs, as with the synchronous route), when it expires (REZONE_REPORT_BATCH_
--                             RETENTION_H; the report service deletes expired batches, their PDFs and jobs)
--            reports.items    one row per report: the validated request, its state, the problem of a failed
--                             one, the PDF once made. A PDF is written once: the worker claims a report only
--                             while it is not ready, so a job retried after a worker died never writes a
--                             second PDF (the CHECK ties `ready` to a PDF and its ETag).
--          Least privilege: only the report service (rezone_report: the HTTP routes and the worker in its
--          process) reads or writes the batches and procrastinate's queue (V0320); EXECUTE on procrastinate's
--          functions is taken back from PUBLIC so that no other role can defer or fetch a job.
-- Depends on: V0121, V0320.

CREATE SCHEMA reports;
COMMENT ON SCHEMA reports IS 'Batch reports (POST /api/v1/reports) and their PDFs, until they expire.';

CREATE TABLE reports.batches (
    id uuid PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    items integer NOT NULL CHECK (items > 0)
);
CREATE INDEX batches_expires_idx ON reports.batches (expires_at);

CREATE TABLE reports.items (
    batch_id uuid NOT NULL REFERENCES reports.batches ON DELETE CASCADE,
    item integer NOT NULL CHECK (item > 0),
    request jsonb NOT NULL,
    name text,
    communes integer NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'ready', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    problem jsonb,
    pdf bytea,
    etag text,
    data_version text,
    started_at timestamptz,
    finished_at timestamptz,
    PRIMARY KEY (batch_id, item),
    CHECK ((state = 'ready') = (pdf IS NOT NULL AND etag IS NOT NULL)),
    CHECK ((state = 'failed') = (problem IS NOT NULL))
);
-- The PDF is read whole and never searched: out of line, uncompressed (a PDF is compressed already).
ALTER TABLE reports.items ALTER COLUMN pdf SET STORAGE EXTERNAL;

GRANT USAGE ON SCHEMA reports TO rezone_report;
GRANT SELECT, INSERT, UPDATE, DELETE ON reports.batches, reports.items TO rezone_report;

GRANT SELECT, INSERT, UPDATE, DELETE ON public.procrastinate_jobs, public.procrastinate_workers,
    public.procrastinate_events, public.procrastinate_periodic_defers TO rezone_report;
GRANT USAGE, SELECT ON SEQUENCE public.procrastinate_jobs_id_seq, public.procrastinate_workers_id_seq,
    public.procrastinate_events_id_seq, public.procrastinate_periodic_defers_id_seq TO rezone_report;

DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'procrastinate\_%'
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO rezone_report', f);
    END LOOP;
END
$$;
