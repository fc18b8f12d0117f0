-- Existing CPTS (ref.cpts_summary, V0240) touching a département / a région / of a status (each filter NULL:
-- any), one page after the cursor in id order, and how many match in all: one statement, one snapshot.
WITH matching AS (
    SELECT id, nom, statut, communes, cardinality(communes) AS commune_count, population, population_missing,
           departements, regions
    FROM ref.cpts_summary
    WHERE ($1::text IS NULL OR $1 = ANY (departements))
      AND ($2::text IS NULL OR $2 = ANY (regions))
      AND ($3::text IS NULL OR statut = $3)
)
SELECT (SELECT count(*) FROM matching) AS total,
       coalesce(
           (SELECT json_agg(p ORDER BY p.id)
            FROM (SELECT * FROM matching WHERE id > $4 ORDER BY id LIMIT $5) p),
           '[]'
       ) AS items
