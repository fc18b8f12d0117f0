-- Purpose: the data version carried by project files, CSV exports and report cache keys.
SELECT ref.data_version()
