-- Purpose: one database role per service, each granted only what its queries read (docs/deploy.md,
--          "Database roles"). The migration owner (the loader) owns every schema; no service role is a member
--          of it, so none can SET ROLE to it, and none can write anything.
--            rezone_aggregate  member of rezone_reader (EXECUTE on the masked api functions), nothing else
--            rezone_tiles      the tile tables and functions (public geometry), the source registry
--            rezone_gateway    the public reference the search, the commune detail and the catalogue read
--            rezone_report     the public geometry of the report's maps and the FINESS points
--          Login and password are the deployment's business (deploy/local/cluster.py locally, the
--          CloudNativePG managed roles in deploy/db/cluster.yaml): the roles are created NOLOGIN here when
--          missing, so that the grants below always have a grantee.
-- Depends on: V0001, V0002, V0010, V0020.

-- Roles are cluster-wide: several databases of one cluster (tests, scratch copies) may run this at once.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['rezone_aggregate', 'rezone_tiles', 'rezone_gateway', 'rezone_report'] LOOP
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END LOOP;
END
$$;

GRANT rezone_reader TO rezone_aggregate;

-- Tiles: the tile functions read the tiles.* tables as the caller; future tile tables are covered too.
GRANT USAGE ON SCHEMA tiles TO rezone_tiles;
GRANT SELECT ON ALL TABLES IN SCHEMA tiles TO rezone_tiles;
ALTER DEFAULT PRIVILEGES IN SCHEMA tiles GRANT SELECT ON TABLES TO rezone_tiles;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tiles TO rezone_tiles;
GRANT USAGE ON SCHEMA ref TO rezone_tiles;
GRANT SELECT ON ref.data_sources TO rezone_tiles;

-- Gateway: commune search and detail, the catalogue (codes, ALD indicators, sources), CPTS perimeters.
GRANT USAGE ON SCHEMA ref TO rezone_gateway;
GRANT SELECT ON ref.communes, ref.departements, ref.regions, ref.epci, ref.cpts, ref.cpts_communes,
                ref.data_sources, ref.indicators TO rezone_gateway;

-- Report: map geometry, COG lookups, FINESS points (a public registry) and the data version.
GRANT USAGE ON SCHEMA ref, health TO rezone_report;
GRANT SELECT ON ref.communes, ref.departements, ref.finess_categories, ref.data_sources TO rezone_report;
GRANT SELECT ON health.finess_et TO rezone_report;
