-- FINESS group colours in legend order (ref.finess_groups, the one palette of every map).
SELECT key, colour FROM ref.finess_groups ORDER BY ordinal
