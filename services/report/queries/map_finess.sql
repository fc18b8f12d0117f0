-- Purpose: FINESS geographic entities of the selected communes with their Rézone group, its colour and sector
--          (ref.finess_groups: the palette of every map), for the map symbols (public data; rows without a
--          point are counted, not drawn).
-- Parameters: $1 text[] selected commune codes.
SELECT f.selectable_code AS code, k.group_key, g.colour, g.sector, f.approximate,
       ST_X(f.geom) AS lon, ST_Y(f.geom) AS lat
FROM health.finess_et f
JOIN ref.finess_categories k ON k.categetab = f.categetab
JOIN ref.finess_groups g ON g.key = k.group_key
WHERE f.selectable_code = any($1::text[])
ORDER BY f.nofinesset
