-- Purpose: the service roles of V0121 read what the later migrations added, and nothing more:
--            rezone_gateway  the commune search (V0140: search table, postal codes, former communes and
--                            their successors, read by the search functions as the caller)
--            rezone_report   the successors (project import), the QPV names of the territory table, the
--                            FINESS group colours of the PDF map (V0200)
--            rezone_tiles    the FINESS group colours of the style (V0200), the tile functions of V0201
-- Depends on: V0121, V0140, V0200, V0201.

GRANT SELECT ON ref.commune_search, ref.postal_codes, ref.former_communes, ref.commune_successors
    TO rezone_gateway;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ref TO rezone_gateway;

GRANT SELECT ON ref.commune_successors, ref.former_communes, ref.qpv, ref.qpv_communes, ref.finess_groups
    TO rezone_report;

GRANT SELECT ON ref.finess_groups TO rezone_tiles;
GRANT EXECUTE ON FUNCTION tiles.mvt_layer(text, integer, integer, integer),
    tiles.tile_layers(text[], integer, integer, integer) TO rezone_tiles;
