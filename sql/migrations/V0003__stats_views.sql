-- Purpose: materialised views in schema `stats` that the services read: per selectable commune and per
--          reference unit (département, région, France), built from the raw tables of V0002. They hold
--          unmasked counts: the services' database role never reads them directly (masking lives in the
--          aggregate engineer's `api` functions). Refreshed at the end of every load
--          (services.ingest.views.refresh); each has a unique index so that REFRESH … CONCURRENTLY works.
--          Design for load time (names and columns unchanged for the services):
--          * health.indicator_counts (1.8 M rows) has its primary key in commune-first order: the files and
--            every query go commune by commune, and an index led by the 52 indicator ids costs 2–5× more to
--            build and to maintain during COPY (many equal leading keys).
--          * stats.commune_indicators is keyed (commune_code, indicator_id) for the same reason.
--          * Reference views aggregate per département once, then roll départements up to régions and
--            France, instead of aggregating the commune rows three times.
-- Depends on: V0001 (ref.communes, ref.departements), V0002 (health.*, ref.zonage, ref.qpv*, ref.cpts*).

CREATE SCHEMA stats;

COMMENT ON SCHEMA stats IS
  'Materialised per-commune and reference aggregates of the health tables; unmasked, read through api only.';


-- The units every reference level sums over: selectable communes only (PLM cities count through their
-- arrondissements), each with its département and région; France is 'FR'.
CREATE VIEW stats.unit_levels AS
SELECT c.code AS commune_code, 'departement'::text AS level, c.departement_code AS unit_code
FROM ref.communes c WHERE c.selectable
UNION ALL
SELECT c.code, 'region', c.region_code FROM ref.communes c WHERE c.selectable
UNION ALL
SELECT c.code, 'france', 'FR' FROM ref.communes c WHERE c.selectable;

COMMENT ON VIEW stats.unit_levels IS
  'Each selectable commune once per reference level (departement, region, france) with the unit code.';


-- Consumers ------------------------------------------------------------------------------------------------

CREATE MATERIALIZED VIEW stats.commune_age_bands AS
SELECT h.commune_code, h.age_band, h.n
FROM health.consumers h
JOIN ref.communes c ON c.code = h.commune_code AND c.selectable;

CREATE UNIQUE INDEX ON stats.commune_age_bands (commune_code, age_band);

COMMENT ON MATERIALIZED VIEW stats.commune_age_bands IS 'Consumers by age band per selectable commune.';


-- Professionals ---------------------------------------------------------------------------------------------

CREATE MATERIALIZED VIEW stats.commune_demography AS
SELECT d.commune_code, d.category, d.n, d.n_60plus, d.n_65plus
FROM health.ps_demography d
JOIN ref.communes c ON c.code = d.commune_code AND c.selectable;

CREATE UNIQUE INDEX ON stats.commune_demography (commune_code, category);

COMMENT ON MATERIALIZED VIEW stats.commune_demography IS
  'Health professionals per selectable commune and category; ages NULL for businesses. A missing row is 0.';


CREATE MATERIALIZED VIEW stats.commune_activity AS
SELECT a.commune_code, a.profession, a.n_ps, a.patients
FROM health.ps_activity a
JOIN ref.communes c ON c.code = a.commune_code AND c.selectable;

CREATE UNIQUE INDEX ON stats.commune_activity (commune_code, profession);

COMMENT ON MATERIALIZED VIEW stats.commune_activity IS
  'Professionals with activity in the semester and their patients, per selectable commune and profession.';


CREATE MATERIALIZED VIEW stats.commune_acts AS
SELECT a.commune_code, a.act_type, a.quantity
FROM health.ps_acts a
JOIN ref.communes c ON c.code = a.commune_code AND c.selectable;

CREATE UNIQUE INDEX ON stats.commune_acts (commune_code, act_type);

COMMENT ON MATERIALIZED VIEW stats.commune_acts IS 'Acts or coefficients per selectable commune and act type.';


-- Structures (FINESS) -----------------------------------------------------------------------------------------

-- Rézone counts geographic entities (ET). For category 101 the legal entity (EJ) has one main site, the
-- lowest nofinesset among its 101 ETs ('chr'); its other 101 sites are the CHR's "entités" ('chr_entite').
CREATE MATERIALIZED VIEW stats.finess_groups_et AS
SELECT f.nofinesset, f.selectable_code AS commune_code,
       CASE WHEN f.categetab = '101'
                 AND f.nofinesset <> min(f.nofinesset) OVER (PARTITION BY f.nofinessej, f.categetab)
            THEN 'chr_entite' ELSE k.group_key END AS group_key,
       f.approximate
FROM health.finess_et f
JOIN ref.finess_categories k ON k.categetab = f.categetab;

CREATE UNIQUE INDEX ON stats.finess_groups_et (nofinesset);

CREATE INDEX ON stats.finess_groups_et (commune_code);

COMMENT ON MATERIALIZED VIEW stats.finess_groups_et IS
  'Each loaded FINESS ET with its Rézone group (chr / chr_entite rule applied) and counting commune.';


CREATE MATERIALIZED VIEW stats.commune_finess AS
SELECT commune_code, group_key, count(*)::integer AS n,
       count(*) FILTER (WHERE approximate)::integer AS n_approximate
FROM stats.finess_groups_et
GROUP BY commune_code, group_key;

CREATE UNIQUE INDEX ON stats.commune_finess (commune_code, group_key);

COMMENT ON MATERIALIZED VIEW stats.commune_finess IS
  'FINESS geographic entities per selectable commune and Rézone group; n_approximate = geocoded on a '
  'commune centroid or not geocoded (still counted in their declared commune).';


CREATE MATERIALIZED VIEW stats.commune_cds AS
SELECT f.selectable_code AS commune_code, coalesce(t.cds_type, 'non_type') AS cds_type, count(*)::integer AS n
FROM health.finess_et f
JOIN ref.finess_categories k ON k.categetab = f.categetab AND k.group_key = 'cds'
LEFT JOIN health.cds_types t ON t.nofinesset = f.nofinesset
GROUP BY 1, 2;

CREATE UNIQUE INDEX ON stats.commune_cds (commune_code, cds_type);

COMMENT ON MATERIALIZED VIEW stats.commune_cds IS
  'Centres de santé per selectable commune by e-CDS type; non_type = absent from the e-CDS observatory.';


-- Territory table ---------------------------------------------------------------------------------------------

CREATE MATERIALIZED VIEW stats.commune_profile AS
SELECT c.code AS commune_code, c.nom, c.departement_code, c.region_code, c.population,
       coalesce(q.qpv_codes, '{}'::text[]) AS qpv_codes,
       z.zonage,
       p.id AS cpts_id, p.nom AS cpts_nom,
       coalesce(k.consumers, 0) AS consumers,
       p.statut AS cpts_statut, c.kind, c.parent_code, c.population_status, c.contour_status
FROM ref.communes c
LEFT JOIN (SELECT commune_code, array_agg(qpv_code ORDER BY qpv_code) AS qpv_codes
           FROM ref.qpv_communes GROUP BY commune_code) q ON q.commune_code = c.code
LEFT JOIN ref.zonage z ON z.commune_code = c.code
LEFT JOIN ref.cpts_communes pc ON pc.commune_code = c.code
LEFT JOIN ref.cpts p ON p.id = pc.cpts_id
LEFT JOIN (SELECT commune_code, sum(n)::integer AS consumers FROM health.consumers GROUP BY commune_code) k
       ON k.commune_code = c.code
WHERE c.selectable;

CREATE UNIQUE INDEX ON stats.commune_profile (commune_code);

COMMENT ON MATERIALIZED VIEW stats.commune_profile IS
  'One row per selectable commune for the territory table: population (NULL when INSEE has none), distinct '
  'QPV codes, zonage (ZIP, ZAC or NULL = hors zonage), existing CPTS, consumers.';

ALTER TABLE health.indicator_counts DROP CONSTRAINT indicator_counts_pkey;

ALTER TABLE health.indicator_counts ADD PRIMARY KEY (commune_code, indicator_id);

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
