-- A report made ($1 batch, $2 item, $3 PDF, $4 ETag, $5 data version): written only by the claim's holder.
UPDATE reports.items
SET state = 'ready', pdf = $3, etag = $4, data_version = $5, finished_at = now()
WHERE batch_id = $1 AND item = $2 AND state = 'running';
