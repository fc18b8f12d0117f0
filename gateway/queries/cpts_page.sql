-- Existing CPTS touching a département / a région / of a status (each filter NULL: any), one page after the
-- cursor in id order, and how many match in all: one statement, one snapshot. The filters read the tables;
-- only the page's CPTS are then summarised (ref.cpts_summary, V0240), not every CPTS of France.
WITH matching AS (
    SELECT p.id
    FROM ref.cpts p
    WHERE ($3::text IS NULL OR p.statut = $3)
      AND ($1::text IS NULL OR EXISTS (
              SELECT 1 FROM ref.cpts_communes pc JOIN ref.communes c ON c.code = pc.commune_code
              WHERE pc.cpts_id = p.id AND c.departement_code = $1))
      AND ($2::text IS NULL OR EXISTS (
              SELECT 1 FROM ref.cpts_communes pc JOIN ref.communes c ON c.code = pc.commune_code
              WHERE pc.cpts_id = p.id AND c.region_code = $2))
)
SELECT (SELECT count(*) FROM matching) AS total,
       coalesce(
           (SELECT json_agg(s ORDER BY s.id)
            FROM (SELECT id, nom, statut, communes, cardinality(communes) AS commune_count, population,
                         population_missing, departements, regions
                  FROM ref.cpts_summary
                  WHERE id = ANY (ARRAY(SELECT id FROM matching WHERE id > $4 ORDER BY id LIMIT $5))) s),
           '[]'
       ) AS items
