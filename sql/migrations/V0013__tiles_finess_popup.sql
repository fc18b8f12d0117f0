-- Purpose: the finess layer carries what the establishment popup shows (issue 7: name, category, address):
--          `categorie` and `adresse` from z12, next to `nom` and `finess`. Both are computed once per load by the
--          tiles build (services/tiles/build_fill.sql) and stored in tiles.finess, so a tile never joins the raw
--          health tables.
-- Depends on: V0010 (tiles.finess), V0012 (replaces its tiles.mvt_finess; tiles.tile() is unchanged).
-- Conventions: as V0011 (extent 4096, buffer 64 units, envelopes in EPSG:3857).

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
