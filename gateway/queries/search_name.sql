-- Communes whose normalised name starts with the normalised query ($1 raw text, $2 limit).
-- The bounds use the text_pattern_ops operators so the search_key index serves the prefix even under a
-- generic plan; search keys only hold [a-z0-9 ], and '~' sorts after all of them.
-- Exact name first, then by population, so "saint denis" gives both Saint-Denis before Saint-Denis-en-Val.
-- The top rows are chosen before the joins, which then touch `limit` rows only.
WITH q AS (SELECT ref.search_key($1::text) AS k),
top AS (
  SELECT c.code, c.nom, c.kind, c.selectable, c.population, c.parent_code, c.departement_code,
         (c.search_key = q.k) AS exact
  FROM q
  JOIN ref.communes c ON c.search_key ~>=~ q.k AND c.search_key ~<~ (q.k || '~')
  WHERE q.k <> ''
  ORDER BY exact DESC, c.population DESC NULLS LAST, c.nom, c.code
  LIMIT $2
)
SELECT t.code, t.nom, t.kind, t.selectable, t.population, t.parent_code,
       t.departement_code, d.nom AS departement_nom, p.id AS cpts_id, p.nom AS cpts_nom, p.statut AS cpts_statut
FROM top t
JOIN ref.departements d ON d.code = t.departement_code
LEFT JOIN ref.cpts_communes pc ON pc.commune_code = t.code
LEFT JOIN ref.cpts p ON p.id = pc.cpts_id
ORDER BY t.exact DESC, t.population DESC NULLS LAST, t.nom, t.code
