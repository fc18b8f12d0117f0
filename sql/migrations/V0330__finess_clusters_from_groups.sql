-- Purpose: the cluster layer's per-group counts follow ref.finess_groups, the one list of FINESS groups.
--          V0310's body named the fourteen groups twice (one n_<groupe> column and one FILTER each); a group
--          added to the table had no count in the tiles until someone edited both. The counts are now one jsonb
--          column, which ST_AsMVT writes as one property per key: n_<groupe> for each group with at least one
--          structure in the cell (absent when none, as the NULLs of V0310 were), an integer as before. The
--          TileJSON fields of the layer are built from the same table (services/tiles/catalog.py).
-- Depends on: V0002 (ref.finess_groups), V0310 (tiles.layers, the previous body).

CREATE OR REPLACE FUNCTION tiles.mvt_finess_clusters(l tiles.layers, z integer, x integer, y integer)
RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE STRICT AS $$
DECLARE
  env geometry := ST_TileEnvelope(z, x, y);
  area geometry := ST_TileEnvelope(z, x, y, margin => l.margin);
  grid integer := round(1 / l.margin)::integer;
  cell double precision := 40075016.685578488 / (2 ^ z) / grid;
BEGIN
  RETURN (
    SELECT coalesce(ST_AsMVT(t, l.id, l.extent, 'geom', 'id'), '')
    FROM (SELECT (c.cy * grid * (2 ^ z)::bigint + c.cx) AS id, c.total, c.counts,
                 ST_AsMVTGeom(c.geom, env, l.extent, l.buffer, true) AS geom
          FROM (SELECT g.cx, g.cy, sum(g.n)::integer AS total, ST_Centroid(ST_Collect(g.geom)) AS geom,
                       jsonb_object_agg('n_' || g.groupe, g.n) AS counts
                FROM (SELECT p.cx, p.cy, p.groupe, count(*)::integer AS n, ST_Collect(p.geom) AS geom
                      FROM (SELECT f.groupe, f.geom,
                                   floor((ST_X(f.geom) + 20037508.342789244) / cell)::bigint AS cx,
                                   floor((20037508.342789244 - ST_Y(f.geom)) / cell)::bigint AS cy
                            FROM tiles.finess f
                            WHERE f.geom && area) p
                      GROUP BY p.cx, p.cy, p.groupe) g
                GROUP BY g.cx, g.cy) c
          ORDER BY 1) t);
END $$;

COMMENT ON FUNCTION tiles.mvt_finess_clusters(tiles.layers, integer, integer, integer) IS
  'FINESS of one tile as the layer l: one point per grid cell with total and n_<groupe> counts (one per group '
  'present, the groups of ref.finess_groups).';
