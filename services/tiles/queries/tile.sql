-- One tile: the layers of its tileset active at this zoom (from the catalog), in catalog order.
SELECT tiles.tile_layers($1::text[], $2, $3, $4)
