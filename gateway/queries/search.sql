-- Communes matching what was typed ($1 raw text, $2 limit, $3 true when it can only be a code: digits, 2A/2B).
-- Ranking and matching live in ref.search_codes / ref.search_communes (V0140: PL/pgSQL functions that keep
-- a generic plan per session, and number their rows); the joins then touch `limit` rows only. Only the
-- branch $3 selects runs (one-time filter).
WITH t AS (
  SELECT s.*, 0 AS branch FROM ref.search_codes(upper(btrim($1::text)), $2::int) AS s WHERE $3::boolean
  UNION ALL
  SELECT s.*, 1 FROM ref.search_communes($1::text, $2::int) AS s WHERE NOT $3::boolean
)
SELECT c.code, c.nom, c.nom_de, c.kind, c.selectable, c.population, c.parent_code,
       c.departement_code, d.nom AS departement_nom, t.match_class, t.via_code, t.via_type, t.via_nom,
       p.id AS cpts_id, p.nom AS cpts_nom, p.statut AS cpts_statut
FROM t
JOIN ref.communes c ON c.code = t.commune_code
JOIN ref.departements d ON d.code = c.departement_code
LEFT JOIN ref.cpts_communes pc ON pc.commune_code = c.code
LEFT JOIN ref.cpts p ON p.id = pc.cpts_id
ORDER BY t.branch, t.ord
