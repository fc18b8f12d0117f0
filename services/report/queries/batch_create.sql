-- A batch, its reports and one queue job per report, written by the caller's one transaction: a batch never
-- exists without its jobs, nor a job without its report. $1 id, $2 retention (hours), $3 the requests (JSON),
-- $4 queue, $5 task name. The jobs go through procrastinate's own insert function (V0320).
WITH batch AS (
    INSERT INTO reports.batches (id, expires_at, items)
    VALUES ($1, now() + make_interval(hours => $2), cardinality($3::jsonb[]))
    RETURNING id
), items AS (
    INSERT INTO reports.items (batch_id, item, request, name, communes)
    SELECT batch.id, u.item, u.request, u.request ->> 'name', jsonb_array_length(u.request -> 'communes')
    FROM batch, unnest($3::jsonb[]) WITH ORDINALITY AS u(request, item)
    RETURNING item
)
SELECT cardinality(procrastinate_defer_jobs_v1(array_agg(
    ROW($4, $5, 0, NULL, NULL, jsonb_build_object('batch', $1::text, 'item', items.item), NULL)
        ::procrastinate_job_to_defer_v1 ORDER BY items.item)))
FROM items;
