-- Purpose: a layer's name, zoom range, tile extent, clip buffer and read margin are declared once, in the
--          tiles catalog (services/tiles/catalog.py). The tile build writes that declaration into tiles.layers
--          (services/tiles/build/declare.py, in the load's transaction, before any tile is drawn), and the
--          layer functions read it: this replaces the seven mvt_* bodies of V0010, each of which repeated its
--          layer's name, its zoom guard (`IF z NOT BETWEEN …`), 4096, 64 and its margin as literals.
--          The drawing itself (which rows, which columns, in which order) is unchanged, so the tile bytes are
--          the same for the same declaration (tests/tiles/test_catalog.py).
-- Depends on: V0010 (tiles tables), V0201 (tiles.mvt_layer, tiles.tile_layers), V0220 (their grants).

SET LOCAL check_function_bodies = off;

CREATE TABLE tiles.layers (
    id             text PRIMARY KEY,
    minzoom        smallint NOT NULL CHECK (minzoom BETWEEN 0 AND 24),
    maxzoom        smallint NOT NULL CHECK (maxzoom BETWEEN minzoom AND 24),
    extent         integer NOT NULL CHECK (extent > 0),
    buffer         integer NOT NULL CHECK (buffer >= 0),
    margin         double precision NOT NULL CHECK (margin >= 0 AND margin <= 1),
    detail_minzoom smallint CHECK (detail_minzoom BETWEEN minzoom AND maxzoom)
);

COMMENT ON TABLE tiles.layers IS
  'The tiles catalog''s layers (services/tiles/catalog.py), written by the tile build: name, zoom range, '
  'MVT extent and clip buffer, read margin (fraction of a tile), zoom of the detail fields.';

GRANT SELECT ON tiles.layers TO rezone_tiles;


-- The layer functions of V0010 took (z, x, y) and knew their own name and zooms: gone.
DROP FUNCTION tiles.mvt_regions(integer, integer, integer);
DROP FUNCTION tiles.mvt_departements(integer, integer, integer);
DROP FUNCTION tiles.mvt_labels(text, text, integer, integer, integer, integer, integer);
DROP FUNCTION tiles.mvt_communes(integer, integer, integer);
DROP FUNCTION tiles.mvt_cpts(integer, integer, integer);
DROP FUNCTION tiles.mvt_finess_clusters(integer, integer, integer);
DROP FUNCTION tiles.mvt_finess(integer, integer, integer);


CREATE FUNCTION tiles.mvt_regions(l tiles.layers, z integer, x integer, y integer) RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE STRICT AS $$
DECLARE
  env geometry := ST_TileEnvelope(z, x, y);
  area geometry := ST_TileEnvelope(z, x, y, margin => l.margin);
BEGIN
  RETURN (SELECT coalesce(ST_AsMVT(t, l.id, l.extent, 'geom', 'id'), '')
          FROM (SELECT a.id, a.code, a.nom, ST_AsMVTGeom(a.geom, env, l.extent, l.buffer, true) AS geom
                FROM tiles.admin a
                WHERE a.band = tiles.band(z) AND a.level = 'region' AND a.geom && area
                ORDER BY a.id) t);
END $$;

COMMENT ON FUNCTION tiles.mvt_regions(tiles.layers, integer, integer, integer) IS
  'Régions of one tile as the layer l: id, code, nom.';


CREATE FUNCTION tiles.mvt_departements(l tiles.layers, z integer, x integer, y integer) RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE STRICT AS $$
DECLARE
  env geometry := ST_TileEnvelope(z, x, y);
  area geometry := ST_TileEnvelope(z, x, y, margin => l.margin);
BEGIN
  RETURN (SELECT coalesce(ST_AsMVT(t, l.id, l.extent, 'geom', 'id'), '')
          FROM (SELECT a.id, a.code, a.nom, a.region, ST_AsMVTGeom(a.geom, env, l.extent, l.buffer, true) AS geom
                FROM tiles.admin a
                WHERE a.band = tiles.band(z) AND a.level = 'departement' AND a.geom && area
                ORDER BY a.id) t);
END $$;

COMMENT ON FUNCTION tiles.mvt_departements(tiles.layers, integer, integer, integer) IS
  'Départements of one tile as the layer l: id, code, nom, region.';


CREATE FUNCTION tiles.mvt_labels(l tiles.layers, lvl text, z integer, x integer, y integer) RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE STRICT AS $$
DECLARE
  env geometry := ST_TileEnvelope(z, x, y);
  area geometry := ST_TileEnvelope(z, x, y, margin => l.margin);
BEGIN
  RETURN (SELECT coalesce(ST_AsMVT(t, l.id, l.extent, 'geom', 'id'), '')
          FROM (SELECT p.id, p.code, p.nom, p.population, ST_AsMVTGeom(p.geom, env, l.extent, l.buffer, true) AS geom
                FROM tiles.labels p
                WHERE p.level = lvl AND p.geom && area
                ORDER BY p.id) t);
END $$;

COMMENT ON FUNCTION tiles.mvt_labels(tiles.layers, text, integer, integer, integer) IS
  'Label points of one level (region, departement, commune) as the layer l: id, code, nom, population.';


CREATE FUNCTION tiles.mvt_communes(l tiles.layers, z integer, x integer, y integer) RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE STRICT AS $$
DECLARE
  env geometry := ST_TileEnvelope(z, x, y);
  area geometry := ST_TileEnvelope(z, x, y, margin => l.margin);
BEGIN
  RETURN (SELECT coalesce(ST_AsMVT(t, l.id, l.extent, 'geom', 'id'), '')
          FROM (SELECT c.id, c.code, c.nom, c.population, c.departement,
                       ST_AsMVTGeom(c.geom, env, l.extent, l.buffer, true) AS geom
                FROM tiles.communes c
                WHERE c.band = tiles.band(z) AND c.geom && area
                ORDER BY c.id) t);
END $$;

COMMENT ON FUNCTION tiles.mvt_communes(tiles.layers, integer, integer, integer) IS
  'Selectable communes of one tile as the layer l: id = ref.communes.id, code, nom, population, departement.';


CREATE FUNCTION tiles.mvt_cpts(l tiles.layers, z integer, x integer, y integer) RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE STRICT AS $$
DECLARE
  env geometry := ST_TileEnvelope(z, x, y);
  area geometry := ST_TileEnvelope(z, x, y, margin => l.margin);
BEGIN
  RETURN (SELECT coalesce(ST_AsMVT(t, l.id, l.extent, 'geom', 'id'), '')
          FROM (SELECT c.id, c.nom, c.statut, ST_AsMVTGeom(c.geom, env, l.extent, l.buffer, true) AS geom
                FROM tiles.cpts c
                WHERE c.band = tiles.band(z) AND c.geom && area
                ORDER BY c.id) t);
END $$;

COMMENT ON FUNCTION tiles.mvt_cpts(tiles.layers, integer, integer, integer) IS
  'CPTS perimeters of one tile as the layer l: id, nom, statut.';


-- Clusters on a global grid whose cell is the layer's read margin (the catalog's 1/CLUSTER_GRID of a tile): a
-- cell is counted whole in every tile that shows it (points are read one cell beyond the tile), so that
-- neighbouring tiles agree on the clusters along their edge.
CREATE FUNCTION tiles.mvt_finess_clusters(l tiles.layers, z integer, x integer, y integer) RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE STRICT AS $$
DECLARE
  env geometry := ST_TileEnvelope(z, x, y);
  area geometry := ST_TileEnvelope(z, x, y, margin => l.margin);
  grid integer := round(1 / l.margin)::integer;
  cell double precision := 40075016.685578488 / (2 ^ z) / grid;
BEGIN
  RETURN (
    SELECT coalesce(ST_AsMVT(t, l.id, l.extent, 'geom', 'id'), '')
    FROM (SELECT (c.cy * grid * (2 ^ z)::bigint + c.cx) AS id, c.total,
                 c.n_ch, c.n_chr, c.n_chr_entite, c.n_hl, c.n_hia, c.n_clinique, c.n_ssr, c.n_dialyse, c.n_had,
                 c.n_ehpad, c.n_ssiad, c.n_msp, c.n_cds, c.n_cpts,
                 ST_AsMVTGeom(c.geom, env, l.extent, l.buffer, true) AS geom
          FROM (SELECT p.cx, p.cy, count(*)::integer AS total, ST_Centroid(ST_Collect(p.geom)) AS geom,
                       nullif(count(*) FILTER (WHERE p.groupe = 'ch'), 0)::integer AS n_ch,
                       nullif(count(*) FILTER (WHERE p.groupe = 'chr'), 0)::integer AS n_chr,
                       nullif(count(*) FILTER (WHERE p.groupe = 'chr_entite'), 0)::integer AS n_chr_entite,
                       nullif(count(*) FILTER (WHERE p.groupe = 'hl'), 0)::integer AS n_hl,
                       nullif(count(*) FILTER (WHERE p.groupe = 'hia'), 0)::integer AS n_hia,
                       nullif(count(*) FILTER (WHERE p.groupe = 'clinique'), 0)::integer AS n_clinique,
                       nullif(count(*) FILTER (WHERE p.groupe = 'ssr'), 0)::integer AS n_ssr,
                       nullif(count(*) FILTER (WHERE p.groupe = 'dialyse'), 0)::integer AS n_dialyse,
                       nullif(count(*) FILTER (WHERE p.groupe = 'had'), 0)::integer AS n_had,
                       nullif(count(*) FILTER (WHERE p.groupe = 'ehpad'), 0)::integer AS n_ehpad,
                       nullif(count(*) FILTER (WHERE p.groupe = 'ssiad'), 0)::integer AS n_ssiad,
                       nullif(count(*) FILTER (WHERE p.groupe = 'msp'), 0)::integer AS n_msp,
                       nullif(count(*) FILTER (WHERE p.groupe = 'cds'), 0)::integer AS n_cds,
                       nullif(count(*) FILTER (WHERE p.groupe = 'cpts'), 0)::integer AS n_cpts
                FROM (SELECT f.groupe, f.geom,
                             floor((ST_X(f.geom) + 20037508.342789244) / cell)::bigint AS cx,
                             floor((20037508.342789244 - ST_Y(f.geom)) / cell)::bigint AS cy
                      FROM tiles.finess f
                      WHERE f.geom && area) p
                GROUP BY p.cx, p.cy) c
          ORDER BY 1) t);
END $$;

COMMENT ON FUNCTION tiles.mvt_finess_clusters(tiles.layers, integer, integer, integer) IS
  'FINESS of one tile as the layer l: one point per grid cell with total and n_<groupe> counts.';


CREATE FUNCTION tiles.mvt_finess(l tiles.layers, z integer, x integer, y integer) RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE STRICT AS $$
DECLARE
  env geometry := ST_TileEnvelope(z, x, y);
  area geometry := ST_TileEnvelope(z, x, y, margin => l.margin);
  named boolean := z >= coalesce(l.detail_minzoom, l.minzoom);
BEGIN
  RETURN (SELECT coalesce(ST_AsMVT(t, l.id, l.extent, 'geom', 'id'), '')
          FROM (SELECT f.id, f.groupe,
                       CASE WHEN named THEN f.nom END AS nom,
                       CASE WHEN named THEN f.finess END AS finess,
                       CASE WHEN named THEN nullif(f.categorie, '') END AS categorie,
                       CASE WHEN named THEN nullif(f.adresse, '') END AS adresse,
                       CASE WHEN f.approximate THEN true END AS approximatif,
                       ST_AsMVTGeom(f.geom, env, l.extent, l.buffer, true) AS geom
                FROM tiles.finess f
                WHERE f.geom && area
                ORDER BY f.id) t);
END $$;

COMMENT ON FUNCTION tiles.mvt_finess(tiles.layers, integer, integer, integer) IS
  'FINESS ET of one tile as the layer l: id (FINESS number in base 36), groupe; nom, finess, categorie, '
  'adresse from l.detail_minzoom; approximatif.';


-- Which function draws which declared layer stays here (the drawing is the database's knowledge); the zoom
-- gate, the name and the geometry parameters are the declaration's.
CREATE OR REPLACE FUNCTION tiles.mvt_layer(layer text, z integer, x integer, y integer) RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE STRICT AS $$
DECLARE
  l tiles.layers;
BEGIN
  SELECT * INTO l FROM tiles.layers WHERE id = layer;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('unknown layer %L', layer),
      HINT = 'tiles.layers is written by the tile build from services/tiles/catalog.py';
  END IF;
  IF z NOT BETWEEN l.minzoom AND l.maxzoom THEN RETURN ''::bytea; END IF;
  CASE layer
    WHEN 'regions' THEN RETURN tiles.mvt_regions(l, z, x, y);
    WHEN 'departements' THEN RETURN tiles.mvt_departements(l, z, x, y);
    WHEN 'communes' THEN RETURN tiles.mvt_communes(l, z, x, y);
    WHEN 'cpts' THEN RETURN tiles.mvt_cpts(l, z, x, y);
    WHEN 'finess_clusters' THEN RETURN tiles.mvt_finess_clusters(l, z, x, y);
    WHEN 'finess' THEN RETURN tiles.mvt_finess(l, z, x, y);
    WHEN 'regions_label' THEN RETURN tiles.mvt_labels(l, 'region', z, x, y);
    WHEN 'departements_label' THEN RETURN tiles.mvt_labels(l, 'departement', z, x, y);
    WHEN 'communes_label' THEN RETURN tiles.mvt_labels(l, 'commune', z, x, y);
    ELSE
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('layer %L has no drawing function', layer);
  END CASE;
END $$;

COMMENT ON FUNCTION tiles.mvt_layer(text, integer, integer, integer) IS
  'One MVT layer of one tile, by its id in tiles.layers (empty outside its declared zoom range).';

GRANT EXECUTE ON FUNCTION tiles.mvt_regions(tiles.layers, integer, integer, integer),
    tiles.mvt_departements(tiles.layers, integer, integer, integer),
    tiles.mvt_labels(tiles.layers, text, integer, integer, integer),
    tiles.mvt_communes(tiles.layers, integer, integer, integer),
    tiles.mvt_cpts(tiles.layers, integer, integer, integer),
    tiles.mvt_finess_clusters(tiles.layers, integer, integer, integer),
    tiles.mvt_finess(tiles.layers, integer, integer, integer)
    TO rezone_tiles;
