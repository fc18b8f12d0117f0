-- Purpose: current COG status of commune codes read from a project file or asked for a project save:
--          name, département, whether the code is a selectable unit, and the arrondissements replacing a
--          PLM city; plus the data version the answer refers to.
-- Parameters: $1 text[] commune codes (syntactically valid).
SELECT c.code, c.nom, c.selectable, c.departement_code, d.nom AS departement_nom,
       coalesce((SELECT array_agg(a.code ORDER BY a.code)
                 FROM ref.communes a WHERE a.parent_code = c.code AND a.selectable), '{}') AS replaced_by
FROM ref.communes c
JOIN ref.departements d ON d.code = c.departement_code
WHERE c.code = any($1::text[])
