-- Purpose: what surrounds each map panel: neighbouring selectable communes and département outlines,
--          simplified for print with the panel's tolerance (degrees) and clipped near the panel.
--          ST_Simplify, not ST_SimplifyPreserveTopology: ten times faster here, and a self-intersection
--          below 0.1 mm on paper cannot be seen; preserveCollapsed keeps tiny communes drawn.
-- Parameters: $1..$4 float8[] panel envelopes in EPSG:4326 (xmin, ymin, xmax, ymax), $5 float8[] tolerances,
--             $6 text[] selected codes (drawn from map_selected, not here), $7 bool[] whether the panel
--             shows neighbouring communes (wide panels show département outlines only).
WITH box AS (
    SELECT b.part::integer - 1 AS part, ST_MakeEnvelope(b.x0, b.y0, b.x1, b.y1, 4326) AS env, b.tol,
           b.communes
    FROM unnest($1::float8[], $2::float8[], $3::float8[], $4::float8[], $5::float8[], $7::bool[])
         WITH ORDINALITY AS b(x0, y0, x1, y1, tol, communes, part)
)
SELECT b.part, 'commune' AS kind, c.code,
       ST_AsBinary(ST_Simplify(c.geom, b.tol, true)) AS geom
FROM box b
JOIN ref.communes c ON c.geom && b.env
WHERE b.communes AND c.selectable AND NOT (c.code = any($6::text[]))
UNION ALL
SELECT b.part, 'departement', d.code,
       ST_AsBinary(ST_Simplify(ST_ClipByBox2D(d.geom, ST_Expand(b.env, 4 * b.tol)), b.tol, true))
FROM box b
JOIN ref.departements d ON d.geom && b.env
