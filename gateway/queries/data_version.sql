-- Short hash of every loaded source: part of cache keys, so a reload never serves an old answer.
SELECT ref.data_version()
