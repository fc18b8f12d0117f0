-- Jobs of the report queue by state ($1 queue): waiting (todo) and running (doing).
SELECT count(*) FILTER (WHERE status = 'todo') AS todo,
       count(*) FILTER (WHERE status = 'doing') AS doing
FROM procrastinate_jobs
WHERE queue_name = $1 AND status IN ('todo', 'doing');
