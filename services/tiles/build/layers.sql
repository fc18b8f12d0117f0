-- Every layer of one tile (z, x, y) in one round trip, one row per layer id given ($4: the catalog's layers
-- active at z); tilesets are then composed by concatenation in catalog order, as the service does.
SELECT l.layer, tiles.mvt_layer(l.layer, $1, $2, $3) AS mvt
FROM unnest($4::text[]) AS l(layer)
