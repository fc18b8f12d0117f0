-- The FINESS groups in legend order (ref.finess_groups: the one list of groups and the one palette of every
-- map): the style's colours and legend, the cluster layer's n_<groupe> fields.
SELECT key, label, sector, coordinated, colour FROM ref.finess_groups ORDER BY ordinal
