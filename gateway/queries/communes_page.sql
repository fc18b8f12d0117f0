-- The communes and PLM arrondissements of one territory ($1: 'departement', 'region' or 'epci'; $2 its code),
-- optionally only the selectable ones ($3) / only those in (or out of) an existing CPTS ($4), one page after
-- the cursor in code order, how many match in all, and the territory's name (NULL: no such territory).
-- One statement, one snapshot. The OR of the three levels keeps each branch on its index (V0240).
WITH territory AS (
    SELECT nom FROM ref.departements WHERE $1 = 'departement' AND code = $2
    UNION ALL
    SELECT nom FROM ref.regions WHERE $1 = 'region' AND code = $2
    UNION ALL
    SELECT nom FROM ref.epci WHERE $1 = 'epci' AND code = $2
), matching AS (
    SELECT c.code, c.nom, c.kind, c.selectable, c.population, c.departement_code AS departement,
           c.region_code AS region, c.epci_code AS epci, c.parent_code,
           CASE WHEN p.id IS NOT NULL THEN json_build_object('id', p.id, 'nom', p.nom, 'statut', p.statut) END
               AS cpts
    FROM ref.communes c
    LEFT JOIN ref.cpts_communes pc ON pc.commune_code = c.code
    LEFT JOIN ref.cpts p ON p.id = pc.cpts_id
    WHERE (($1 = 'departement' AND c.departement_code = $2)
           OR ($1 = 'region' AND c.region_code = $2)
           OR ($1 = 'epci' AND c.epci_code = $2))
      AND ($3::boolean IS NULL OR c.selectable = $3)
      AND ($4::boolean IS NULL OR (pc.cpts_id IS NOT NULL) = $4)
)
SELECT (SELECT nom FROM territory LIMIT 1) AS territory_nom,
       (SELECT count(*) FROM matching) AS total,
       coalesce(
           (SELECT json_agg(m ORDER BY m.code)
            FROM (SELECT * FROM matching WHERE code > $5 ORDER BY code LIMIT $6) m),
           '[]'
       ) AS items
