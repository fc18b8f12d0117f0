-- Every layer of one tile (z, x, y) in one round trip, one column per layer id of the catalog; tilesets are
-- composed by concatenation in catalog order, exactly as tiles.tile() does, so pyramid and database agree.
SELECT tiles.mvt_regions($1, $2, $3) AS regions,
       tiles.mvt_labels('regions_label', 'region', 0, 8, $1, $2, $3) AS regions_label,
       tiles.mvt_departements($1, $2, $3) AS departements,
       tiles.mvt_labels('departements_label', 'departement', 0, 10, $1, $2, $3) AS departements_label,
       tiles.mvt_communes($1, $2, $3) AS communes,
       tiles.mvt_labels('communes_label', 'commune', 9, 12, $1, $2, $3) AS communes_label,
       tiles.mvt_cpts($1, $2, $3) AS cpts,
       tiles.mvt_finess_clusters($1, $2, $3) AS finess_clusters,
       tiles.mvt_finess($1, $2, $3) AS finess
