-- Tiles version (data version + build revision) of the tables, NULL before the first build.
SELECT tiles.version()
