-- One report's PDF when ready ($1 batch, $2 item); the state says why there is none.
SELECT i.state, i.name, i.etag, i.data_version, i.problem, CASE WHEN $3 THEN i.pdf END AS pdf
FROM reports.batches b
JOIN reports.items i ON i.batch_id = b.id
WHERE b.id = $1 AND i.item = $2 AND b.expires_at > now();
