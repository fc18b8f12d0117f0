-- Purpose: contours and label points of the selected communes for the report map (public geometry, full
--          resolution: the service simplifies after projection), and the data version of the reference.
-- Parameters: $1 text[] selected commune codes.
SELECT c.code, c.nom, c.departement_code, c.population,
       ST_AsBinary(c.geom) AS geom,
       ST_X(c.label_point) AS lon, ST_Y(c.label_point) AS lat
FROM ref.communes c
WHERE c.code = any($1::text[])
ORDER BY c.code
