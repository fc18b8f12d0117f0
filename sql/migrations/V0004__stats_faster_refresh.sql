-- Purpose: make the load fit its time budget without changing any name or column the services read.
--          * health.indicator_counts (1.8 M rows) gets its primary key in commune-first order: the files
--            and every query go commune by commune, and an index led by the 52 indicator ids costs 2–5×
--            more to build and to maintain during COPY (many equal leading keys).
--          * stats.commune_indicators is keyed (commune_code, indicator_id) for the same reason; its
--            separate commune index becomes redundant.
--          * Reference views aggregate per département once, then roll départements up to régions and
--            France, instead of aggregating the commune rows three times.
-- Depends on: V0002 (health.indicator_counts), V0003 (the stats views replaced here).

ALTER TABLE health.indicator_counts DROP CONSTRAINT indicator_counts_pkey;
ALTER TABLE health.indicator_counts ADD PRIMARY KEY (commune_code, indicator_id);

DROP MATERIALIZED VIEW stats.commune_indicators;
CREATE MATERIALIZED VIEW stats.commune_indicators AS
WITH consumers AS (
    SELECT commune_code, sum(n)::integer AS consumers,
           sum(n) FILTER (WHERE age_band <> '0-17')::integer AS consumers_17plus
    FROM health.consumers GROUP BY commune_code
)
SELECT i.indicator_id, i.commune_code, i.numerator, i.denominator,
       coalesce(k.consumers, 0) AS consumers,
       coalesce(k.consumers_17plus, 0) AS consumers_17plus
FROM health.indicator_counts i
JOIN ref.communes c ON c.code = i.commune_code AND c.selectable
LEFT JOIN consumers k ON k.commune_code = i.commune_code;
CREATE UNIQUE INDEX ON stats.commune_indicators (commune_code, indicator_id);
COMMENT ON MATERIALIZED VIEW stats.commune_indicators IS
  'Numerator and denominator of each indicator per selectable commune; consumers = all-age consumers of the '
  'commune (the ">= 50 consumers" rule), consumers_17plus = consumers outside the 0-17 band.';

DROP MATERIALIZED VIEW stats.reference_indicators;
CREATE MATERIALIZED VIEW stats.reference_indicators AS
WITH dep AS (
    SELECT i.indicator_id, c.departement_code, c.region_code,
           sum(i.numerator)::bigint AS numerator, sum(i.denominator)::bigint AS denominator,
           count(*)::integer AS communes
    FROM health.indicator_counts i
    JOIN ref.communes c ON c.code = i.commune_code AND c.selectable
    GROUP BY i.indicator_id, c.departement_code, c.region_code
)
SELECT indicator_id, 'departement'::text AS level, departement_code AS unit_code, numerator, denominator, communes
FROM dep
UNION ALL
SELECT indicator_id, 'region', region_code, sum(numerator)::bigint, sum(denominator)::bigint, sum(communes)::integer
FROM dep GROUP BY indicator_id, region_code
UNION ALL
SELECT indicator_id, 'france', 'FR', sum(numerator)::bigint, sum(denominator)::bigint, sum(communes)::integer
FROM dep GROUP BY indicator_id;
CREATE UNIQUE INDEX ON stats.reference_indicators (indicator_id, level, unit_code);
COMMENT ON MATERIALIZED VIEW stats.reference_indicators IS
  'Indicator sums per département, région and France over every selectable commune of the unit, unmasked.';

DROP MATERIALIZED VIEW stats.reference_age_bands;
CREATE MATERIALIZED VIEW stats.reference_age_bands AS
WITH dep AS (
    SELECT c.departement_code, c.region_code, h.age_band, sum(h.n)::bigint AS n
    FROM health.consumers h
    JOIN ref.communes c ON c.code = h.commune_code AND c.selectable
    GROUP BY c.departement_code, c.region_code, h.age_band
)
SELECT 'departement'::text AS level, departement_code AS unit_code, age_band, n FROM dep
UNION ALL
SELECT 'region', region_code, age_band, sum(n)::bigint FROM dep GROUP BY region_code, age_band
UNION ALL
SELECT 'france', 'FR', age_band, sum(n)::bigint FROM dep GROUP BY age_band;
CREATE UNIQUE INDEX ON stats.reference_age_bands (level, unit_code, age_band);
COMMENT ON MATERIALIZED VIEW stats.reference_age_bands IS
  'Consumers by age band per département, région and France (sums over their selectable communes).';

-- reference_acts reads reference_activity: drop it first, recreate it after.
DROP MATERIALIZED VIEW stats.reference_acts;
DROP MATERIALIZED VIEW stats.reference_activity;
CREATE MATERIALIZED VIEW stats.reference_activity AS
WITH dep AS (
    SELECT a.profession, c.departement_code, c.region_code,
           sum(a.n_ps)::bigint AS n_ps, sum(a.patients)::bigint AS patients
    FROM health.ps_activity a
    JOIN ref.communes c ON c.code = a.commune_code AND c.selectable
    GROUP BY a.profession, c.departement_code, c.region_code
)
SELECT profession, 'departement'::text AS level, departement_code AS unit_code, n_ps, patients FROM dep
UNION ALL
SELECT profession, 'region', region_code, sum(n_ps)::bigint, sum(patients)::bigint FROM dep
GROUP BY profession, region_code
UNION ALL
SELECT profession, 'france', 'FR', sum(n_ps)::bigint, sum(patients)::bigint FROM dep GROUP BY profession;
CREATE UNIQUE INDEX ON stats.reference_activity (profession, level, unit_code);
COMMENT ON MATERIALIZED VIEW stats.reference_activity IS
  'Professionals with activity and patients per département, région and France (no 5-PS rule at these levels).';

CREATE MATERIALIZED VIEW stats.reference_acts AS
WITH dep AS (
    SELECT a.act_type, t.profession, c.departement_code, c.region_code, sum(a.quantity) AS quantity
    FROM health.ps_acts a
    JOIN ref.act_types t ON t.key = a.act_type
    JOIN ref.communes c ON c.code = a.commune_code AND c.selectable
    GROUP BY a.act_type, t.profession, c.departement_code, c.region_code
), units AS (
    SELECT act_type, profession, 'departement'::text AS level, departement_code AS unit_code, quantity FROM dep
    UNION ALL
    SELECT act_type, profession, 'region', region_code, sum(quantity) FROM dep
    GROUP BY act_type, profession, region_code
    UNION ALL
    SELECT act_type, profession, 'france', 'FR', sum(quantity) FROM dep GROUP BY act_type, profession
)
SELECT u.act_type, u.level, u.unit_code, u.quantity, coalesce(r.n_ps, 0)::bigint AS n_ps
FROM units u
LEFT JOIN stats.reference_activity r
       ON r.profession = u.profession AND r.level = u.level AND r.unit_code = u.unit_code;
CREATE UNIQUE INDEX ON stats.reference_acts (act_type, level, unit_code);
COMMENT ON MATERIALIZED VIEW stats.reference_acts IS
  'Acts per département, région and France; n_ps = professionals with activity of the act type''s profession.';
