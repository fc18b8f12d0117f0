-- Extents (EPSG:3857) inside which a layer can have a feature, by kind: 'admin', the départements of the finest
-- band (communes, CPTS and labels lie inside them), and 'finess', the FINESS points (on a 1 km grid), whose
-- geocoding may fall just off a coastline. Deep zooms of the FINESS layers are only asked where points are.
SELECT 'admin' AS kind, ST_XMin(geom) AS xmin, ST_YMin(geom) AS ymin, ST_XMax(geom) AS xmax, ST_YMax(geom) AS ymax
FROM tiles.admin
WHERE level = 'departement' AND band = 10
UNION ALL
SELECT 'finess', ST_X(p), ST_Y(p), ST_X(p), ST_Y(p)
FROM (SELECT DISTINCT ST_SnapToGrid(geom, 1000) AS p FROM tiles.finess) f
