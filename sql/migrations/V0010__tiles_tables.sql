-- Purpose: generalised geometries for vector tiles, in EPSG:3857, one row per feature and zoom band, filled at
--          load time by services/tiles/build.py (shapely coverage cleaning + coverage simplification so that
--          neighbours keep one shared border), plus the record of what the last build was made from.
-- Depends on: V0001 (ref.communes, ref.departements, ref.regions), V0002 (ref.cpts, health.finess_et),
--             V0003 (stats.finess_groups_et: the Rézone group of each FINESS ET).

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
