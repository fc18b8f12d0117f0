-- The worker takes a report ($1 batch, $2 item) unless it is made already (or failed, or expired): a job run
-- again after its worker died renders only what is not ready, so each PDF is written once.
UPDATE reports.items i
SET state = 'running', attempts = i.attempts + 1, started_at = now()
FROM reports.batches b
WHERE b.id = i.batch_id AND i.batch_id = $1 AND i.item = $2 AND i.state IN ('pending', 'running')
  AND b.expires_at > now()
RETURNING i.request;
