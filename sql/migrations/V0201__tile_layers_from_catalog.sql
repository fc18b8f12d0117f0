-- Purpose: which layers a tile holds, and from which zoom to which, is declared once, in the tiles catalog
--          (services/tiles/catalog.py). The service and the pyramid build pass the layers active at z, in
--          catalog order; the database only knows how to draw each layer. This replaces the tileset -> layers
--          switch of tiles.tile() (V0010), which repeated the catalog's composition and its zoom ranges.
--          The per-layer zoom guards left inside the V0010 mvt_* bodies are never narrower than the catalog
--          (tests/tiles/test_catalog.py checks it), so they never decide.

CREATE FUNCTION tiles.mvt_layer(layer text, z integer, x integer, y integer) RETURNS bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE STRICT AS $$
BEGIN
  CASE layer
    WHEN 'regions' THEN RETURN tiles.mvt_regions(z, x, y);
    WHEN 'departements' THEN RETURN tiles.mvt_departements(z, x, y);
    WHEN 'communes' THEN RETURN tiles.mvt_communes(z, x, y);
    WHEN 'cpts' THEN RETURN tiles.mvt_cpts(z, x, y);
    WHEN 'finess_clusters' THEN RETURN tiles.mvt_finess_clusters(z, x, y);
    WHEN 'finess' THEN RETURN tiles.mvt_finess(z, x, y);
    -- Label layers: the level is the layer's name without `_label`; the zoom range is the caller's.
    WHEN 'regions_label' THEN RETURN tiles.mvt_labels(layer, 'region', z, z, z, x, y);
    WHEN 'departements_label' THEN RETURN tiles.mvt_labels(layer, 'departement', z, z, z, x, y);
    WHEN 'communes_label' THEN RETURN tiles.mvt_labels(layer, 'commune', z, z, z, x, y);
    ELSE
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('unknown layer %L', layer);
  END CASE;
END $$;

COMMENT ON FUNCTION tiles.mvt_layer(text, integer, integer, integer) IS
  'One MVT layer of one tile, by the layer id of the tiles catalog (no zoom gating: the caller''s).';

CREATE FUNCTION tiles.tile_layers(layers text[], z integer, x integer, y integer) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE STRICT AS $$
  SELECT coalesce(string_agg(tiles.mvt_layer(l.layer, z, x, y), ''::bytea ORDER BY l.ord), ''::bytea)
  FROM unnest(layers) WITH ORDINALITY AS l(layer, ord)
$$;

COMMENT ON FUNCTION tiles.tile_layers(text[], integer, integer, integer) IS
  'A tile made of the given layers, concatenated in the given order (the catalog''s layers active at z).';

-- The old switch is gone: one composition of tilesets, the catalog's.
DROP FUNCTION tiles.tile(text, integer, integer, integer);
