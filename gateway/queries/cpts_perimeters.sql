-- The communes of each existing CPTS, the selections most likely to be asked for: they pre-warm the cache.
SELECT pc.cpts_id, array_agg(pc.commune_code ORDER BY pc.commune_code) AS communes
FROM ref.cpts_communes pc
GROUP BY pc.cpts_id
ORDER BY pc.cpts_id
