-- Every loaded source with its vintage and demo flag, ordered as in the diagnosis (block, then source).
-- Read with the catalogue, so /api/v1/meta costs no query per request.
SELECT source, label, block, vintage, is_demo
FROM ref.data_sources
ORDER BY block, source
