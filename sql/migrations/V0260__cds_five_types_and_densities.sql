-- Purpose: (1) the centres de santé keep the five e-CDS types the seed report prints (médicaux and
--          polyvalents were folded into one type by the loader): health.cds_types accepts `medical` and
--          `polyvalent`, the e-CDS source is marked for reload (its rows are re-read by the next load, which
--          now keeps both types), and api._structures lists dentaires, infirmiers, médicaux, non typés,
--          polyvalents in the seed's order;
--          (2) professionals per 10 000 inhabitants against the département, the région and France
--          (`offer.densities`): counts of professionals and INSEE populations are public directory data, so
--          every commune cell is kept (docs/methodology.md §2.7) and a unit's density is the sum over its
--          selectable communes with a known population; comparators are those of api._comparisons (rounded
--          unit values, weights = the territory's INSEE population in each unit, rounded).
-- Depends on: V0002 (health.cds_types), V0003 (stats.commune_demography, stats.commune_cds), V0020
--             (api._structures, api._offer, comparison types), V0101 (api._comparisons).

SET LOCAL check_function_bodies = off;

-- (1) five e-CDS types ------------------------------------------------------------------------------------------

-- The folded rows cannot be split again: they are dropped with the recorded hash of their file, so that the
-- next load (the same `python -m services.ingest` run that applied this migration) reads the file again.
DELETE FROM health.cds_types WHERE cds_type = 'medical_polyvalent';
UPDATE ref.data_sources SET sha256 = NULL WHERE source = 'ecds';

ALTER TABLE health.cds_types DROP CONSTRAINT cds_types_cds_type_check;
ALTER TABLE health.cds_types
    ADD CONSTRAINT cds_types_cds_type_check CHECK (cds_type IN ('medical', 'polyvalent', 'dentaire', 'infirmier'));

CREATE OR REPLACE FUNCTION api._structures(p_codes text[], p_sel api.sel_commune[])
RETURNS TABLE (structures json, centres_de_sante json)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
    WITH sel AS MATERIALIZED (
        SELECT s.code COLLATE "C" AS code, s.nom, s.ord FROM unnest(p_sel) s
    ), fin AS MATERIALIZED (
        SELECT f.commune_code COLLATE "C" AS code, f.group_key COLLATE "C" AS group_key, f.n
        FROM stats.commune_finess f WHERE f.commune_code = ANY(p_codes)
    ), cds_rows AS MATERIALIZED (
        SELECT c.commune_code COLLATE "C" AS code, c.cds_type COLLATE "C" AS cds_type, c.n
        FROM stats.commune_cds c WHERE c.commune_code = ANY(p_codes)
    ), groups AS (
        SELECT g.key, min(g.label) AS label, min(g.sector) AS sector, bool_and(g.coordinated) AS coordinated,
               min(g.ordinal) AS ordinal, coalesce(sum(f.n), 0)::integer AS total,
               coalesce(json_agg(json_build_object('code', s.code, 'nom', s.nom, 'n', f.n) ORDER BY s.ord)
                        FILTER (WHERE f.n > 0), '[]'::json) AS communes
        FROM (SELECT k.key COLLATE "C" AS key, k.label, k.sector, k.coordinated, k.ordinal FROM ref.finess_groups k) g
        LEFT JOIN (fin f JOIN sel s ON s.code = f.code) ON f.group_key = g.key
        GROUP BY g.key
    ), cds(key, label, ordinal) AS (
        -- The seed report's five rows, in its order.
        VALUES ('dentaire' COLLATE "C", 'Centres de santé dentaires', 1),
               ('infirmier', 'Centres de santé infirmiers', 2),
               ('medical', 'Centres de santé médicaux', 3),
               ('non_type', 'Centres de santé non typés (e-CDS ATIH)', 4),
               ('polyvalent', 'Centres de santé polyvalents', 5)
    ), cds_groups AS (
        SELECT t.key, t.label, t.ordinal, coalesce(sum(c.n), 0)::integer AS total,
               coalesce(json_agg(json_build_object('code', s.code, 'nom', s.nom, 'n', c.n) ORDER BY s.ord)
                        FILTER (WHERE c.n > 0), '[]'::json) AS communes
        FROM cds t
        LEFT JOIN (cds_rows c JOIN sel s ON s.code = c.code) ON c.cds_type = t.key
        GROUP BY t.key, t.label, t.ordinal
    )
    SELECT (SELECT json_agg(json_build_object('key', g.key, 'label', g.label, 'sector', g.sector,
                                              'coordinated', g.coordinated, 'total', g.total,
                                              'communes', g.communes) ORDER BY g.ordinal) FROM groups g),
           (SELECT json_agg(json_build_object('key', c.key, 'label', c.label, 'sector', 'coordination',
                                              'coordinated', true, 'total', c.total,
                                              'communes', c.communes) ORDER BY c.ordinal) FROM cds_groups c);
END
$$;


-- (2) densities of professionals ---------------------------------------------------------------------------------

CREATE MATERIALIZED VIEW stats.reference_demography AS
WITH dep AS (
    -- Communes without an INSEE population (Mayotte) count in neither the numerator nor the denominator.
    SELECT d.category, c.departement_code, c.region_code, sum(d.n)::bigint AS n
    FROM stats.commune_demography d
    JOIN ref.communes c ON c.code = d.commune_code AND c.population IS NOT NULL
    GROUP BY d.category, c.departement_code, c.region_code
), pop AS (
    SELECT c.departement_code, min(c.region_code) AS region_code, sum(c.population)::bigint AS population
    FROM ref.communes c WHERE c.selectable AND c.population IS NOT NULL
    GROUP BY c.departement_code
), cells AS (
    SELECT k.key AS category, p.departement_code, p.region_code, coalesce(d.n, 0) AS n, p.population
    FROM ref.ps_categories k CROSS JOIN pop p
    LEFT JOIN dep d ON d.category = k.key AND d.departement_code = p.departement_code
)
SELECT category, 'departement'::text AS level, departement_code AS unit_code, n, population FROM cells
UNION ALL
SELECT category, 'region', region_code, sum(n)::bigint, sum(population)::bigint FROM cells
GROUP BY category, region_code
UNION ALL
SELECT category, 'france', 'FR', sum(n)::bigint, sum(population)::bigint FROM cells GROUP BY category;

CREATE UNIQUE INDEX ON stats.reference_demography (category, level, unit_code);

COMMENT ON MATERIALIZED VIEW stats.reference_demography IS
  'Professionals per category and INSEE population per département, région and France (public counts, '
  'selectable communes with a known population): the reference densities of offer.densities.';


CREATE FUNCTION api._densities(p_codes text[], p_sel api.sel_commune[])
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_result json;
BEGIN
    WITH sel AS MATERIALIZED (
        SELECT s.code COLLATE "C" AS code, s.dep COLLATE "C" AS dep, s.reg COLLATE "C" AS reg,
               s.population::numeric AS pop
        FROM unnest(p_sel) s
    ), cat AS MATERIALIZED (
        -- Professionals only: businesses are counted as companies, « dont » rows are inside their parent.
        SELECT k.key COLLATE "C" AS category, k.label, k.ordinal FROM ref.ps_categories k
        WHERE NOT k.is_business AND k.parent_key IS NULL
    ), tot AS MATERIALIZED (
        SELECT c.category, c.label, c.ordinal,
               coalesce(sum(d.n) FILTER (WHERE s.pop IS NOT NULL), 0)::integer AS n,
               (SELECT coalesce(sum(x.pop), 0) FROM sel x) AS pop
        FROM cat c
        LEFT JOIN (stats.commune_demography d JOIN sel s ON s.code = d.commune_code) ON d.category = c.category
        GROUP BY c.category, c.label, c.ordinal
    ), figs AS MATERIALIZED (
        SELECT t.*, CASE WHEN t.pop > 0 THEN round(10000 * t.n / t.pop, 1) END AS value FROM tot t
    ), unit_w AS MATERIALIZED (
        SELECT x.level, x.unit_code, coalesce(sum(s.pop), 0) AS pop, count(*)::integer AS ncom
        FROM sel s
        CROSS JOIN LATERAL (VALUES ('departement'::text, s.dep), ('region', s.reg), ('france', 'FR')) x(level, unit_code)
        GROUP BY x.level, x.unit_code
    ), r AS (
        SELECT x.category AS fig, x.level, x.unit_code,
               CASE WHEN x.population > 0 THEN 10000 * x.n::numeric / x.population END AS value
        FROM (SELECT DISTINCT u.level, u.unit_code FROM unit_w u) u
        JOIN stats.reference_demography x ON x.level = u.level AND x.unit_code = u.unit_code
        WHERE x.category IN (SELECT c.category FROM cat c)
    ), cmp AS MATERIALIZED (
        SELECT * FROM api._comparisons(
            (SELECT array_agg(ROW(f.category, f.value)::api.cmp_value) FROM figs f),
            (SELECT array_agg(ROW(f.category, u.level, u.unit_code, u.pop, u.pop, u.ncom)::api.cmp_weight)
             FROM figs f CROSS JOIN unit_w u),
            (SELECT array_agg(ROW(r.fig, r.level, r.unit_code, r.value)::api.cmp_ref) FROM r))
    )
    SELECT json_agg(json_build_object(
               'category', f.category, 'label', f.label, 'n', f.n, 'value', f.value,
               'status', CASE WHEN f.value IS NULL THEN 'sans_objet' ELSE 'publie' END,
               'reason', CASE WHEN f.value IS NULL
                              THEN 'Sans objet : aucun habitant recensé par l''INSEE dans les communes retenues' END,
               'comparisons', c.comparisons)
           ORDER BY f.ordinal)
    INTO v_result
    FROM figs f JOIN cmp c ON c.fig = f.category;
    RETURN coalesce(v_result, '[]'::json);
END
$$;

COMMENT ON FUNCTION api._densities(text[], api.sel_commune[]) IS
  'Professionals per 10 000 INSEE inhabitants per category, against département, région and France.';


CREATE OR REPLACE FUNCTION api._offer(p_codes text[], p_sel api.sel_commune[])
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_demo ref.data_sources := api._source_of('ps_demography');
    v_act ref.data_sources := api._source_of('ps_activity');
    v_fin ref.data_sources := api._source_of('finess_et');
    v_structures json;
    v_cds json;
BEGIN
    SELECT s.structures, s.centres_de_sante INTO v_structures, v_cds FROM api._structures(p_codes, p_sel) s;
    RETURN json_build_object(
        'demography', api._demography(p_codes),
        'demography_source', coalesce(v_demo.label, 'Source non chargée'),
        'demography_period', coalesce(v_demo.vintage, 'non renseignée'),
        'densities', api._densities(p_codes, p_sel),
        'activity', api._activity(p_codes, p_sel),
        'activity_source', coalesce(v_act.label, 'Source non chargée'),
        'activity_period', coalesce(v_act.vintage, 'non renseignée'),
        'structures', v_structures,
        'centres_de_sante', v_cds,
        'structures_source', coalesce(v_fin.label, 'Source non chargée'),
        'structures_period', coalesce(v_fin.vintage, 'non renseignée'));
END
$$;

-- Default privileges cannot take EXECUTE from PUBLIC on api functions (V0020, V0101): revoke it here.
REVOKE EXECUTE ON FUNCTION api._densities(text[], api.sel_commune[]) FROM PUBLIC;
