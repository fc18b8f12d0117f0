-- A report that cannot be made ($1 batch, $2 item, $3 problem), or put back to wait for a retry ($3 NULL).
UPDATE reports.items
SET state = CASE WHEN $3::jsonb IS NULL THEN 'pending' ELSE 'failed' END,
    problem = $3::jsonb,
    finished_at = CASE WHEN $3::jsonb IS NULL THEN NULL ELSE now() END
WHERE batch_id = $1 AND item = $2 AND state = 'running';
