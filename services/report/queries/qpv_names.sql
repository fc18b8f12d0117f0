-- Purpose: names of the quartiers prioritaires (QPV) touching the selected communes, for the territory table
--          (the diagnosis gives their codes; names are public reference data).
-- Parameters: $1 text[] selected commune codes.
SELECT DISTINCT q.code, q.nom
FROM ref.qpv_communes qc
JOIN ref.qpv q ON q.code = qc.qpv_code
WHERE qc.commune_code = any($1::text[])
ORDER BY q.code
