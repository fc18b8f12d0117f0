-- A batch and its reports, without the PDFs ($1 id); no row when unknown or expired.
SELECT b.created_at, b.expires_at, i.item, i.name, i.communes, i.state, i.attempts, i.problem,
       octet_length(i.pdf) AS bytes
FROM reports.batches b
JOIN reports.items i ON i.batch_id = b.id
WHERE b.id = $1 AND b.expires_at > now()
ORDER BY i.item;
