-- Purpose: statistical secrecy decided per commune, on the commune's own data only, for every published figure
--          (issue 10, docs/methodology.md §2). Every published territory figure is a sum of per-commune cells;
--          these materialised views say, for each commune and figure, whether its cell is kept. A kept cell, its
--          complement within its denominator and every difference with another published cell of the same
--          commune that an attacker can form are each at least 11 (5 for professionals' data; 0 counts as below).
--          The reference levels (département, région, France) are sums of the same kept cells, so that any
--          reference minus any territory is itself a sum of kept cells.
--          The linked groups (which published cells of a commune are tied by sums) are data in
--          api.indicator_links; services/aggregate/audit.py reads the same links from its own copy and a test
--          checks that both agree.
-- Depends on: V0001, V0002, V0003 (health tables, ref.communes, stats views), V0020 (schema api).

-- Linked groups of the indicators -----------------------------------------------------------------------------

CREATE TABLE api.indicator_links (
    indicator_id  text PRIMARY KEY REFERENCES ref.indicators(id),
    -- The denominator IS this sum of age bands (all consumers, 17 and over, 65 and over); NULL = its own population.
    frame         text[] ,
    -- Otherwise the denominator is a sub-population of this sum of age bands (published when the bands are).
    within        text[],
    -- … and contains this band (70 and over ⊇ 80 and over).
    contains      text[],
    -- Numerators this numerator is a subset of (sans médecin traitant et en ALD ⊂ sans médecin traitant).
    num_parents   text[] NOT NULL DEFAULT '{}',
    CHECK (frame IS NULL OR within IS NULL)
);

COMMENT ON TABLE api.indicator_links IS
  'How the cells of a commune are tied by sums: denominators equal to or nested in age-band sums, nested '
  'numerators. Rules of docs/methodology.md §2.2; the auditor (services/aggregate/audit.py) mirrors it.';

INSERT INTO api.indicator_links (indicator_id, frame, within, contains, num_parents)
SELECT i.id,
       CASE WHEN i.id LIKE 'ald\_%' THEN ARRAY['0-17', '18-39', '40-64', '65-79', '80+']
            WHEN i.id IN ('pop_ald', 'pop_c2s', 'mt_17_sans', 'mt_17_sans_ald', 'mt_17_sans_c2s', 'urgences')
                 THEN ARRAY['18-39', '40-64', '65-79', '80+']
            WHEN i.id IN ('polymedication', 'grippe_65') THEN ARRAY['65-79', '80+'] END,
       CASE WHEN i.id IN ('admissions_directes', 'bzd_anxiolytique', 'bzd_hypnotique', 'antibioresistance')
                 THEN ARRAY['0-17', '18-39', '40-64', '65-79', '80+']
            WHEN i.id IN ('mt_70_sans', 'psychotropes') THEN ARRAY['65-79', '80+']
            WHEN i.id IN ('antibio_moins_4', 'antibio_4_16', 'bucco_dentaire', 'ror', 'meningocoque_c')
                 THEN ARRAY['0-17']
            WHEN i.id IN ('depistage_sein', 'depistage_colorectal') THEN ARRAY['40-64', '65-79']
            WHEN i.id IN ('depistage_col', 'grippe_risque') THEN ARRAY['18-39', '40-64'] END,
       CASE WHEN i.id = 'mt_70_sans' THEN ARRAY['80+'] END,
       CASE WHEN i.id = 'mt_17_sans_ald' THEN ARRAY['mt_17_sans', 'pop_ald']
            WHEN i.id = 'mt_17_sans_c2s' THEN ARRAY['mt_17_sans', 'pop_c2s'] ELSE '{}' END
FROM ref.indicators i;


-- Age bands: one linked group per commune ------------------------------------------------------------------------

-- A commune's five bands are published together or not at all: with the total (and the 17+ and 65+
-- denominators, sums of bands) any single masked band would come back by difference.
CREATE MATERIALIZED VIEW stats.commune_age_kept AS
SELECT h.commune_code,
       sum(h.n)::integer AS consumers,
       sum(h.n) >= 50 AND count(*) = 5 AND bool_and(h.n >= 11) AS kept,
       jsonb_object_agg(h.age_band, h.n) AS bands
FROM health.consumers h
JOIN ref.communes c ON c.code = h.commune_code AND c.selectable
GROUP BY h.commune_code;

CREATE UNIQUE INDEX ON stats.commune_age_kept (commune_code);

COMMENT ON MATERIALIZED VIEW stats.commune_age_kept IS
  'Per selectable commune: consumers and whether its age bands are published (>= 50 consumers, every band >= 11).';


-- Indicators ------------------------------------------------------------------------------------------------------

CREATE MATERIALIZED VIEW stats.commune_indicators_kept AS
WITH base AS (
    SELECT i.indicator_id, i.commune_code, i.numerator, i.denominator, coalesce(a.consumers, 0) AS consumers,
           coalesce(a.kept, false) AS bands_kept, a.bands, l.frame, l.within, l.contains, l.num_parents,
           -- Rules 1 and 2 with the complement: the cell, and the persons of the denominator outside it.
           coalesce(a.consumers, 0) >= 50 AND i.numerator >= 11 AND i.denominator >= 11
               AND (r.unit <> 'pct' OR i.denominator - i.numerator >= 11) AS own_ok
    FROM health.indicator_counts i
    JOIN ref.communes c ON c.code = i.commune_code AND c.selectable
    JOIN ref.indicators r ON r.id = i.indicator_id
    JOIN api.indicator_links l ON l.indicator_id = i.indicator_id
    LEFT JOIN stats.commune_age_kept a ON a.commune_code = i.commune_code
), linked AS (
    SELECT b.*,
           b.own_ok
           -- A denominator equal to a sum of bands is published exactly when the bands are: without them, two
           -- such denominators (all consumers, 17 and over) would give the 0-17 band by difference.
           AND (b.frame IS NULL OR b.bands_kept)
           -- A sub-population of published bands: the persons of the bands outside it are a cell too.
           AND (b.within IS NULL OR NOT b.bands_kept
                OR (SELECT sum((b.bands ->> x)::integer) FROM unnest(b.within) x) - b.denominator >= 11)
           AND (b.contains IS NULL OR NOT b.bands_kept
                OR b.denominator - (SELECT sum((b.bands ->> x)::integer) FROM unnest(b.contains) x) >= 11)
               AS ok1
    FROM base b
), clash AS (
    -- A nested numerator next to its published parent: the parent minus the child is a cell too.
    SELECT l.commune_code, l.indicator_id, bool_or(q.ok1 AND q.numerator - l.numerator < 11) AS clash
    FROM linked l
    CROSS JOIN LATERAL unnest(l.num_parents) p(id)
    JOIN linked q ON q.commune_code = l.commune_code AND q.indicator_id = p.id
    GROUP BY l.commune_code, l.indicator_id
)
SELECT l.indicator_id, l.commune_code, l.numerator, l.denominator, l.consumers,
       l.ok1 AND NOT coalesce(c.clash, false) AS kept
FROM linked l
LEFT JOIN clash c ON c.commune_code = l.commune_code AND c.indicator_id = l.indicator_id;

CREATE UNIQUE INDEX ON stats.commune_indicators_kept (commune_code, indicator_id);

COMMENT ON MATERIALIZED VIEW stats.commune_indicators_kept IS
  'Each commune''s indicator cell with the secrecy decision of docs/methodology.md §2.2 (kept = published).';

CREATE MATERIALIZED VIEW stats.reference_indicators_kept AS
WITH dep AS (
    SELECT k.indicator_id, c.departement_code, c.region_code,
           sum(k.numerator) FILTER (WHERE k.kept)::bigint AS numerator,
           sum(k.denominator) FILTER (WHERE k.kept)::bigint AS denominator,
           count(*) FILTER (WHERE k.kept)::integer AS communes
    FROM stats.commune_indicators_kept k
    JOIN ref.communes c ON c.code = k.commune_code
    GROUP BY k.indicator_id, c.departement_code, c.region_code
)
SELECT indicator_id, 'departement'::text AS level, departement_code AS unit_code,
       coalesce(numerator, 0) AS numerator, coalesce(denominator, 0) AS denominator, communes
FROM dep
UNION ALL
SELECT indicator_id, 'region', region_code, coalesce(sum(numerator), 0)::bigint, coalesce(sum(denominator), 0)::bigint,
       sum(communes)::integer
FROM dep GROUP BY indicator_id, region_code
UNION ALL
SELECT indicator_id, 'france', 'FR', coalesce(sum(numerator), 0)::bigint, coalesce(sum(denominator), 0)::bigint,
       sum(communes)::integer
FROM dep GROUP BY indicator_id;

CREATE UNIQUE INDEX ON stats.reference_indicators_kept (indicator_id, level, unit_code);
CREATE INDEX ON stats.reference_indicators_kept (level, unit_code);

COMMENT ON MATERIALIZED VIEW stats.reference_indicators_kept IS
  'Indicator sums per département, région and France over the kept cells only (reference − territory = kept cells).';

CREATE MATERIALIZED VIEW stats.reference_age_bands_kept AS
WITH dep AS (
    SELECT c.departement_code, c.region_code, h.age_band, sum(h.n)::bigint AS n
    FROM health.consumers h
    JOIN stats.commune_age_kept a ON a.commune_code = h.commune_code AND a.kept
    JOIN ref.communes c ON c.code = h.commune_code
    GROUP BY c.departement_code, c.region_code, h.age_band
)
SELECT 'departement'::text AS level, departement_code AS unit_code, age_band, n FROM dep
UNION ALL
SELECT 'region', region_code, age_band, sum(n)::bigint FROM dep GROUP BY region_code, age_band
UNION ALL
SELECT 'france', 'FR', age_band, sum(n)::bigint FROM dep GROUP BY age_band;

CREATE UNIQUE INDEX ON stats.reference_age_bands_kept (level, unit_code, age_band);

COMMENT ON MATERIALIZED VIEW stats.reference_age_bands_kept IS
  'Consumers by age band per département, région and France over the communes whose bands are published.';


-- Professionals' ages ---------------------------------------------------------------------------------------------

-- Per commune and category: 60+, 65+, under 60 and 60-64 are each at least 5 (the ages are one linked group);
-- a "dont" row (MEP) also needs its parent minus itself to pass when the parent's ages are published.
CREATE MATERIALIZED VIEW stats.commune_demography_kept AS
WITH d AS (
    SELECT d.commune_code, d.category, d.n, d.n_60plus, d.n_65plus, k.parent_key, k.is_business,
           NOT k.is_business AND d.n_60plus >= 5 AND d.n - d.n_60plus >= 5 AND d.n_65plus >= 5
               AND d.n_60plus - d.n_65plus >= 5 AS own_ok
    FROM stats.commune_demography d
    JOIN ref.ps_categories k ON k.key = d.category
)
SELECT d.commune_code, d.category, d.n, d.n_60plus, d.n_65plus,
       d.own_ok AND (p.commune_code IS NULL OR NOT p.own_ok
                     OR (p.n_60plus - d.n_60plus >= 5 AND (p.n - p.n_60plus) - (d.n - d.n_60plus) >= 5
                         AND p.n_65plus - d.n_65plus >= 5
                         AND (p.n_60plus - p.n_65plus) - (d.n_60plus - d.n_65plus) >= 5)) AS ages_kept
FROM d
LEFT JOIN d p ON p.commune_code = d.commune_code AND p.category = d.parent_key;

CREATE UNIQUE INDEX ON stats.commune_demography_kept (commune_code, category);

COMMENT ON MATERIALIZED VIEW stats.commune_demography_kept IS
  'Professionals per commune and category with whether their ages (60+, 65+) are published (rule 7, per commune).';


-- Activity --------------------------------------------------------------------------------------------------------

-- A commune counts for a profession with at least 5 professionals (rule 4), 11 patients and 11 of each of the
-- profession's acts: its patients and acts are published together or not at all.
CREATE MATERIALIZED VIEW stats.commune_activity_kept AS
SELECT a.commune_code, a.profession, a.n_ps, a.patients,
       a.n_ps >= 5 AND a.patients >= 11 AND NOT EXISTS (
           SELECT 1 FROM ref.act_types t
           LEFT JOIN health.ps_acts q ON q.commune_code = a.commune_code AND q.act_type = t.key
           WHERE t.profession = a.profession AND coalesce(q.quantity, 0) < 11) AS counted
FROM health.ps_activity a
JOIN ref.communes c ON c.code = a.commune_code AND c.selectable;

CREATE UNIQUE INDEX ON stats.commune_activity_kept (commune_code, profession);

COMMENT ON MATERIALIZED VIEW stats.commune_activity_kept IS
  'Professionals with activity and patients per commune and profession; counted = its activity is published.';

CREATE MATERIALIZED VIEW stats.reference_activity_kept AS
WITH dep AS (
    SELECT a.profession, c.departement_code, c.region_code,
           sum(a.n_ps)::bigint AS n_ps, sum(a.patients)::bigint AS patients
    FROM stats.commune_activity_kept a
    JOIN ref.communes c ON c.code = a.commune_code
    WHERE a.counted
    GROUP BY a.profession, c.departement_code, c.region_code
)
SELECT profession, 'departement'::text AS level, departement_code AS unit_code, n_ps, patients FROM dep
UNION ALL
SELECT profession, 'region', region_code, sum(n_ps)::bigint, sum(patients)::bigint FROM dep
GROUP BY profession, region_code
UNION ALL
SELECT profession, 'france', 'FR', sum(n_ps)::bigint, sum(patients)::bigint FROM dep GROUP BY profession;

CREATE UNIQUE INDEX ON stats.reference_activity_kept (profession, level, unit_code);
CREATE INDEX ON stats.reference_activity_kept (level, unit_code);

COMMENT ON MATERIALIZED VIEW stats.reference_activity_kept IS
  'Professionals and patients per département, région and France over the counted communes only.';

CREATE MATERIALIZED VIEW stats.reference_acts_kept AS
WITH dep AS (
    SELECT q.act_type, t.profession, c.departement_code, c.region_code,
           sum(q.quantity) AS quantity, sum(a.n_ps)::bigint AS n_ps
    FROM health.ps_acts q
    JOIN ref.act_types t ON t.key = q.act_type
    JOIN stats.commune_activity_kept a ON a.commune_code = q.commune_code AND a.profession = t.profession
                                      AND a.counted
    JOIN ref.communes c ON c.code = q.commune_code
    GROUP BY q.act_type, t.profession, c.departement_code, c.region_code
)
SELECT act_type, 'departement'::text AS level, departement_code AS unit_code, quantity, n_ps FROM dep
UNION ALL
SELECT act_type, 'region', region_code, sum(quantity), sum(n_ps)::bigint FROM dep GROUP BY act_type, region_code
UNION ALL
SELECT act_type, 'france', 'FR', sum(quantity), sum(n_ps)::bigint FROM dep GROUP BY act_type;

CREATE UNIQUE INDEX ON stats.reference_acts_kept (act_type, level, unit_code);
CREATE INDEX ON stats.reference_acts_kept (level, unit_code);

COMMENT ON MATERIALIZED VIEW stats.reference_acts_kept IS
  'Acts per département, région and France over the counted communes; n_ps = their professionals.';
