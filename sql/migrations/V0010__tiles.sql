-- Purpose: generalised geometries for vector tiles, in EPSG:3857, one row per feature and zoom band, filled at
--          load time by services/tiles/build.py (shapely coverage cleaning + coverage simplification so that
--          neighbours keep one shared border), the record of what the last build was made from, and the
--          ST_AsMVT layer functions. Features are ordered by id, so that the pyramid, every replica and every
--          rebuild produce the same bytes (hence the same ETags) for the same data. The finess layer carries what
--          the establishment popup shows (name, category, address) from z12, computed once per load into
--          tiles.finess so that a tile never joins the raw health tables.
-- Depends on: V0001 (ref.communes, ref.departements, ref.regions), V0002 (ref.cpts, health.finess_et),
--             V0003 (stats.finess_groups_et: the Rézone group of each FINESS ET).

-- Function bodies may call functions defined further down; they are checked when first called.
SET LOCAL check_function_bodies = off;

CREATE SCHEMA tiles;

COMMENT ON SCHEMA tiles IS 'Vector-tile sources: zoom-band generalisations (EPSG:3857) and ST_AsMVT functions.';


-- A band is named by the lowest zoom it serves; tiles.band(z) maps a zoom to its band. Every zoom of a band
-- reads geometry simplified for that band's lowest zoom, so a tile never carries more than ~0.5 px of detail.
CREATE FUNCTION tiles.band(z integer) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT (CASE WHEN z <= 2 THEN 0 WHEN z <= 4 THEN 3 WHEN z <= 6 THEN 5 WHEN z = 7 THEN 7
               WHEN z <= 9 THEN 8 ELSE 10 END)::smallint
$$;

COMMENT ON FUNCTION tiles.band(integer) IS 'Zoom band (its lowest zoom) whose generalised geometry serves zoom z.';


CREATE TABLE tiles.communes (
    band        smallint NOT NULL,
    id          integer NOT NULL,           -- ref.communes.id: the stable MVT feature id
    code        text NOT NULL,
    nom         text NOT NULL,
    population  integer,
    departement text NOT NULL,
    geom        geometry(MultiPolygon, 3857) NOT NULL,
    PRIMARY KEY (band, id)
);

CREATE INDEX communes_geom_idx ON tiles.communes USING gist (geom);

COMMENT ON TABLE tiles.communes IS
  'Selectable communes (PLM arrondissements, never their parent) simplified per band as one coverage.';


CREATE TABLE tiles.admin (
    band    smallint NOT NULL,
    level   text NOT NULL CHECK (level IN ('region', 'departement')),
    id      integer NOT NULL,               -- numeric code: 2A -> 200, 2B -> 201, 971 -> 971, region 84 -> 84
    code    text NOT NULL,
    nom     text NOT NULL,
    region  text,                           -- région code of a département
    geom    geometry(MultiPolygon, 3857) NOT NULL,
    PRIMARY KEY (band, level, id)
);

CREATE INDEX admin_geom_idx ON tiles.admin USING gist (geom);

COMMENT ON TABLE tiles.admin IS
  'Départements and régions per band: unions of the simplified commune coverage (bands >= 8) or a '
  'coverage simplification of the départements (lower bands), so that their borders coincide.';


CREATE TABLE tiles.labels (
    level      text NOT NULL CHECK (level IN ('region', 'departement', 'commune')),
    id         integer NOT NULL,
    code       text NOT NULL,
    nom        text NOT NULL,
    population integer,
    geom       geometry(Point, 3857) NOT NULL,
    PRIMARY KEY (level, id)
);

CREATE INDEX labels_geom_idx ON tiles.labels USING gist (geom);

COMMENT ON TABLE tiles.labels IS 'One label point per région, département and selectable commune.';


CREATE TABLE tiles.cpts (
    band    smallint NOT NULL,
    id      integer NOT NULL,
    nom     text NOT NULL,
    statut  text NOT NULL,
    geom    geometry(MultiPolygon, 3857) NOT NULL,
    PRIMARY KEY (band, id)
);

CREATE INDEX cpts_geom_idx ON tiles.cpts USING gist (geom);

COMMENT ON TABLE tiles.cpts IS 'Existing CPTS perimeters: union of their member communes, per band.';


CREATE TABLE tiles.finess (
    id          bigint PRIMARY KEY,         -- the FINESS number read in base 36 (reversible, < 2^53)
    finess      text NOT NULL UNIQUE,
    groupe      text NOT NULL,
    nom         text NOT NULL,
    approximate boolean NOT NULL,
    geom        geometry(Point, 3857) NOT NULL
);

CREATE INDEX finess_geom_idx ON tiles.finess USING gist (geom);

COMMENT ON TABLE tiles.finess IS 'FINESS ET with a position, with their Rézone group and a short name.';


CREATE TABLE tiles.build_state (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    data_version text NOT NULL,              -- ref.data_version() the tables were built from
    revision     text NOT NULL,              -- build code revision: a changed algorithm rebuilds too
    built_at     timestamptz NOT NULL DEFAULT now(),
    stats        jsonb NOT NULL DEFAULT '{}'
);

COMMENT ON TABLE tiles.build_state IS
  'What the tile tables were built from; tile URLs carry data_version and revision (the tiles version).';


CREATE FUNCTION tiles.version() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT data_version || '-' || revision FROM tiles.build_state
$$;

COMMENT ON FUNCTION tiles.version() IS
  'Version of the tile data (data version + build revision), NULL before the first build; part of tile URLs.';


-- FINESS numbers are 9 characters of [0-9A-Z] ('2A0001234'): read in base 36 they give a stable, reversible
-- integer below 36^9 < 2^53, usable as an MVT feature id and as a JavaScript number.
CREATE FUNCTION tiles.finess_id(code text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT sum((strpos('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', substr(code, i, 1)) - 1)::numeric
             * 36::numeric ^ (length(code) - i))::bigint
  FROM generate_series(1, length(code)) AS i
$$;

COMMENT ON FUNCTION tiles.finess_id(text) IS 'Numeric feature id of a FINESS number (base 36).';


CREATE FUNCTION tiles.tile(tileset text, z integer, x integer, y integer) RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE STRICT AS $$
BEGIN
  CASE tileset
    WHEN 'admin' THEN
      RETURN tiles.mvt_regions(z, x, y) || tiles.mvt_labels('regions_label', 'region', 0, 8, z, x, y)
          || tiles.mvt_departements(z, x, y) || tiles.mvt_labels('departements_label', 'departement', 0, 10, z, x, y)
          || tiles.mvt_communes(z, x, y) || tiles.mvt_labels('communes_label', 'commune', 9, 12, z, x, y)
          || tiles.mvt_cpts(z, x, y);
    WHEN 'regions' THEN
      RETURN tiles.mvt_regions(z, x, y) || tiles.mvt_labels('regions_label', 'region', 0, 8, z, x, y);
    WHEN 'departements' THEN
      RETURN tiles.mvt_departements(z, x, y)
          || tiles.mvt_labels('departements_label', 'departement', 0, 10, z, x, y);
    WHEN 'communes' THEN
      RETURN tiles.mvt_communes(z, x, y) || tiles.mvt_labels('communes_label', 'commune', 9, 12, z, x, y);
    WHEN 'cpts' THEN
      RETURN tiles.mvt_cpts(z, x, y);
    WHEN 'finess' THEN
      RETURN tiles.mvt_finess_clusters(z, x, y) || tiles.mvt_finess(z, x, y);
    ELSE
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('unknown tileset %L', tileset);
  END CASE;
END $$;

COMMENT ON FUNCTION tiles.tile(text, integer, integer, integer) IS
  'One tile of a tileset (admin, regions, departements, communes, cpts, finess); empty bytea when empty.';

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

-- Nullable: rows built before this migration have neither until the next build (the build revision changed,
-- so the next load rebuilds the table); the layer omits an empty value rather than sending ''.
ALTER TABLE tiles.finess
    ADD COLUMN categorie text,
    ADD COLUMN adresse   text;

COMMENT ON COLUMN tiles.finess.categorie IS 'Category label of the FINESS categetab (ref.finess_categories.libelle).';

COMMENT ON COLUMN tiles.finess.adresse IS
  'One-line postal address: number, complement, street type and name, lieu-dit/BP, postcode and city.';


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
                       CASE WHEN named THEN nullif(f.categorie, '') END AS categorie,
                       CASE WHEN named THEN nullif(f.adresse, '') END AS adresse,
                       CASE WHEN f.approximate THEN true END AS approximatif,
                       ST_AsMVTGeom(f.geom, env, 4096, 64, true) AS geom
                FROM tiles.finess f
                WHERE f.geom && area
                ORDER BY f.id) t);
END $$;

COMMENT ON FUNCTION tiles.mvt_finess(integer, integer, integer) IS
  'Layer finess (z9-14): id (FINESS number in base 36), groupe; nom, finess, categorie, adresse from z12; approximatif.';
