-- Purpose: metropolitan département outlines, strongly simplified, for the locator map of a scattered
--          territory.
-- Parameters: $1 float8 simplification tolerance in degrees.
SELECT d.code, ST_AsBinary(ST_Simplify(d.geom, $1)) AS geom
FROM ref.departements d
WHERE d.code !~ '^97'
ORDER BY d.code
