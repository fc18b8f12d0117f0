-- Purpose: the layer functions of V0011 again, now ordering features by id, so that the pyramid, every
--          replica and every rebuild produce the same bytes (hence the same ETags) for the same data.
-- Depends on: V0011 (replaces its tiles.mvt_* functions; tiles.tile() is unchanged).
-- Conventions: as V0011 (extent 4096, buffer 64 units, envelopes in EPSG:3857).

CREATE OR REPLACE FUNCTION tiles.mvt_regions(z integer, x integer, y integer) RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE STRICT AS $$
DECLARE
  env geometry := ST_TileEnvelope(z, x, y);
  area geometry := ST_TileEnvelope(z, x, y, margin => 0.015625);
BEGIN
  IF z NOT BETWEEN 0 AND 12 THEN RETURN ''::bytea; END IF;
  RETURN (SELECT coalesce(ST_AsMVT(t, 'regions', 4096, 'geom', 'id'), '')
          FROM (SELECT a.id, a.code, a.nom, ST_AsMVTGeom(a.geom, env, 4096, 64, true) AS geom
                FROM tiles.admin a
                WHERE a.band = tiles.band(z) AND a.level = 'region' AND a.geom && area
                ORDER BY a.id) t);
END $$;
COMMENT ON FUNCTION tiles.mvt_regions(integer, integer, integer) IS 'Layer regions (z0-12): id, code, nom.';

CREATE OR REPLACE FUNCTION tiles.mvt_departements(z integer, x integer, y integer) RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE STRICT AS $$
DECLARE
  env geometry := ST_TileEnvelope(z, x, y);
  area geometry := ST_TileEnvelope(z, x, y, margin => 0.015625);
BEGIN
  IF z NOT BETWEEN 0 AND 12 THEN RETURN ''::bytea; END IF;
  RETURN (SELECT coalesce(ST_AsMVT(t, 'departements', 4096, 'geom', 'id'), '')
          FROM (SELECT a.id, a.code, a.nom, a.region, ST_AsMVTGeom(a.geom, env, 4096, 64, true) AS geom
                FROM tiles.admin a
                WHERE a.band = tiles.band(z) AND a.level = 'departement' AND a.geom && area
                ORDER BY a.id) t);
END $$;
COMMENT ON FUNCTION tiles.mvt_departements(integer, integer, integer) IS
  'Layer departements (z0-12): id, code, nom, region.';

CREATE OR REPLACE FUNCTION tiles.mvt_labels(layer text, lvl text, minz integer, maxz integer,
                                 z integer, x integer, y integer) RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE STRICT AS $$
DECLARE
  env geometry := ST_TileEnvelope(z, x, y);
  area geometry := ST_TileEnvelope(z, x, y, margin => 0.015625);
BEGIN
  IF z NOT BETWEEN minz AND maxz THEN RETURN ''::bytea; END IF;
  RETURN (SELECT coalesce(ST_AsMVT(t, layer, 4096, 'geom', 'id'), '')
          FROM (SELECT l.id, l.code, l.nom, l.population, ST_AsMVTGeom(l.geom, env, 4096, 64, true) AS geom
                FROM tiles.labels l
                WHERE l.level = lvl AND l.geom && area
                ORDER BY l.id) t);
END $$;
COMMENT ON FUNCTION tiles.mvt_labels(text, text, integer, integer, integer, integer, integer) IS
  'Label-point layer of one level (region, departement, commune): id, code, nom, population.';

CREATE OR REPLACE FUNCTION tiles.mvt_communes(z integer, x integer, y integer) RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE STRICT AS $$
DECLARE
  env geometry := ST_TileEnvelope(z, x, y);
  area geometry := ST_TileEnvelope(z, x, y, margin => 0.015625);
BEGIN
  IF z NOT BETWEEN 8 AND 12 THEN RETURN ''::bytea; END IF;
  RETURN (SELECT coalesce(ST_AsMVT(t, 'communes', 4096, 'geom', 'id'), '')
          FROM (SELECT c.id, c.code, c.nom, c.population, c.departement,
                       ST_AsMVTGeom(c.geom, env, 4096, 64, true) AS geom
                FROM tiles.communes c
                WHERE c.band = tiles.band(z) AND c.geom && area
                ORDER BY c.id) t);
END $$;
COMMENT ON FUNCTION tiles.mvt_communes(integer, integer, integer) IS
  'Layer communes (z8-12): id = ref.communes.id, code, nom, population, departement.';

CREATE OR REPLACE FUNCTION tiles.mvt_cpts(z integer, x integer, y integer) RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE STRICT AS $$
DECLARE
  env geometry := ST_TileEnvelope(z, x, y);
  area geometry := ST_TileEnvelope(z, x, y, margin => 0.015625);
BEGIN
  IF z NOT BETWEEN 6 AND 12 THEN RETURN ''::bytea; END IF;
  RETURN (SELECT coalesce(ST_AsMVT(t, 'cpts', 4096, 'geom', 'id'), '')
          FROM (SELECT c.id, c.nom, c.statut, ST_AsMVTGeom(c.geom, env, 4096, 64, true) AS geom
                FROM tiles.cpts c
                WHERE c.band = tiles.band(z) AND c.geom && area
                ORDER BY c.id) t);
END $$;
COMMENT ON FUNCTION tiles.mvt_cpts(integer, integer, integer) IS 'Layer cpts (z6-12): id, nom, statut.';

CREATE OR REPLACE FUNCTION tiles.mvt_finess(z integer, x integer, y integer) RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE STRICT AS $$
DECLARE
  env geometry := ST_TileEnvelope(z, x, y);
  area geometry := ST_TileEnvelope(z, x, y, margin => 0.015625);
  named boolean := z >= 12;
BEGIN
  IF z NOT BETWEEN 9 AND 14 THEN RETURN ''::bytea; END IF;
  RETURN (SELECT coalesce(ST_AsMVT(t, 'finess', 4096, 'geom', 'id'), '')
          FROM (SELECT f.id, f.groupe,
                       CASE WHEN named THEN f.nom END AS nom,
                       CASE WHEN named THEN f.finess END AS finess,
                       CASE WHEN f.approximate THEN true END AS approximatif,
                       ST_AsMVTGeom(f.geom, env, 4096, 64, true) AS geom
                FROM tiles.finess f
                WHERE f.geom && area
                ORDER BY f.id) t);
END $$;
COMMENT ON FUNCTION tiles.mvt_finess(integer, integer, integer) IS
  'Layer finess (z9-14): id (FINESS number in base 36), groupe; nom and finess from z12; approximatif.';

-- Clusters on a global grid of 16 x 16 cells per tile: a cell is counted whole in every tile that shows it
-- (points are read with a one-cell margin), so neighbouring tiles agree on the clusters along their edge.
CREATE OR REPLACE FUNCTION tiles.mvt_finess_clusters(z integer, x integer, y integer) RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE STRICT AS $$
DECLARE
  env geometry := ST_TileEnvelope(z, x, y);
  area geometry := ST_TileEnvelope(z, x, y, margin => 0.0625);
  cell double precision := 40075016.685578488 / (2 ^ z) / 16;
BEGIN
  IF z NOT BETWEEN 0 AND 8 THEN RETURN ''::bytea; END IF;
  RETURN (
    SELECT coalesce(ST_AsMVT(t, 'finess_clusters', 4096, 'geom', 'id'), '')
    FROM (SELECT (c.cy * 16 * (2 ^ z)::bigint + c.cx) AS id, c.total,
                 c.n_ch, c.n_chr, c.n_chr_entite, c.n_hl, c.n_hia, c.n_clinique, c.n_ssr, c.n_dialyse, c.n_had,
                 c.n_ehpad, c.n_ssiad, c.n_msp, c.n_cds, c.n_cpts,
                 ST_AsMVTGeom(c.geom, env, 4096, 64, true) AS geom
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
COMMENT ON FUNCTION tiles.mvt_finess_clusters(integer, integer, integer) IS
  'Layer finess_clusters (z0-8): one point per grid cell (1/16 tile) with total and n_<groupe> counts.';
