-- Every commune code with whether it is a selectable unit and, for PLM arrondissements, the parent commune.
-- Loaded at start and whenever the data version changes; validates selections without a query per request.
SELECT code, selectable, parent_code
FROM ref.communes
ORDER BY code
