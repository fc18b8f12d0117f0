-- Sources loaded from the demonstration generator, to say so in the map attribution.
SELECT coalesce(array_agg(source ORDER BY source) FILTER (WHERE is_demo), '{}') FROM ref.data_sources
