-- Retention: expired batches (their reports and PDFs by cascade), then the finished jobs of the queue ($1)
-- whose batch is gone (now, or in an earlier pass). Jobs still waiting or running are left to finish: the
-- worker finds no report to claim and ends them at once.
WITH gone AS (
    DELETE FROM reports.batches WHERE expires_at <= now() RETURNING id
)
DELETE FROM procrastinate_jobs j
WHERE j.queue_name = $1
  AND j.status NOT IN ('todo', 'doing')
  AND ((j.args ->> 'batch')::uuid IN (SELECT id FROM gone)
       OR NOT EXISTS (SELECT 1 FROM reports.batches b WHERE b.id = (j.args ->> 'batch')::uuid));
