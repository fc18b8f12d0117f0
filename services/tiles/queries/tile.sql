-- One tile of a tileset; the tileset name is checked against the catalog before this runs.
SELECT tiles.tile($1, $2, $3, $4)
