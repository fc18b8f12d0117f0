-- Communes whose INSEE code starts with $1 (already upper-cased), exact code first, then by population.
-- A plain range on the unique btree index of `code` ('~' sorts after digits and letters).
WITH top AS (
  SELECT c.code, c.nom, c.kind, c.selectable, c.population, c.parent_code, c.departement_code
  FROM ref.communes c
  WHERE c.code >= $1::text AND c.code < ($1::text || '~')
  ORDER BY (c.code = $1) DESC, c.population DESC NULLS LAST, c.code
  LIMIT $2
)
SELECT t.code, t.nom, t.kind, t.selectable, t.population, t.parent_code,
       t.departement_code, d.nom AS departement_nom, p.id AS cpts_id, p.nom AS cpts_nom, p.statut AS cpts_statut
FROM top t
JOIN ref.departements d ON d.code = t.departement_code
LEFT JOIN ref.cpts_communes pc ON pc.commune_code = t.code
LEFT JOIN ref.cpts p ON p.id = pc.cpts_id
ORDER BY (t.code = $1) DESC, t.population DESC NULLS LAST, t.code
