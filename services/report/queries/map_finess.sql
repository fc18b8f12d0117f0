-- Purpose: FINESS geographic entities of the selected communes with their Rézone group, for the map symbols
--          (public data; rows without a point are counted, not drawn).
-- Parameters: $1 text[] selected commune codes.
SELECT f.selectable_code AS code, k.group_key, f.approximate,
       ST_X(f.geom) AS lon, ST_Y(f.geom) AS lat
FROM health.finess_et f
JOIN ref.finess_categories k ON k.categetab = f.categetab
WHERE f.selectable_code = any($1::text[])
ORDER BY f.nofinesset
