-- Purpose: the secrecy engine. `api.diagnosis(codes, ald)` and `api.summary(codes)` aggregate a selection of
--          communes from the `stats` views and return JSON in which every rule of docs/methodology.md has
--          already been applied; they are the only functions `rezone_reader` may execute. Internal `api._*`
--          functions are not executable by anyone but the owner.
-- Depends on: V0003 (stats.*), V0020 (api schema, role, rules, ACI parameters, comparison types).
--
-- Errors raised for the service to translate (SQLSTATE, DETAIL = JSON array of offenders):
--   RZ001 unknown_commune, RZ002 empty_selection, RZ003 unknown_indicator.

-- Bodies reference stats.* at run time only; plpgsql keeps one cached plan per statement and session.

-- Comparisons --------------------------------------------------------------------------------------------------

CREATE FUNCTION api._comparisons(p_values api.cmp_value[], p_weights api.cmp_weight[], p_refs api.cmp_ref[])
RETURNS TABLE (fig text, comparisons json)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
RETURN QUERY
WITH w AS (
    SELECT * FROM unnest(p_weights)
), lvl AS (
    SELECT w.fig, w.level, sum(w.w) AS sw, sum(w.pop) AS spop, count(*) AS nunits
    FROM w GROUP BY w.fig, w.level
), used AS (
    -- The territory's own published denominator in each unit; when it has none (masked territory), its INSEE
    -- population, and failing that its number of communes.
    SELECT w.fig, w.level, w.unit_code, l.nunits,
           CASE WHEN l.sw > 0 THEN w.w WHEN l.spop > 0 THEN w.pop ELSE w.ncom END AS wt
    FROM w JOIN lvl l ON l.fig = w.fig AND l.level = w.level
), j AS (
    SELECT u.*, r.value, sum(u.wt) OVER (PARTITION BY u.fig, u.level) AS swt
    FROM used u
    LEFT JOIN unnest(p_refs) r ON r.fig = u.fig AND r.level = u.level AND r.unit_code = u.unit_code
), per_level AS (
    SELECT j.fig, j.level, max(j.nunits) > 1 AS weighted,
           -- A weighted mean over a masked unit would let its value be solved for: no comparator then.
           CASE WHEN bool_and(j.value IS NOT NULL OR j.wt = 0) AND sum(j.wt) > 0
                THEN round(sum(j.wt * coalesce(j.value, 0)) / sum(j.wt), 1) END AS cval,
           json_agg(json_build_object(
               'code', j.unit_code,
               'nom', coalesce(d.nom, g.nom, 'France'),
               'weight', round(j.wt / nullif(j.swt, 0), 3),
               'value', round(j.value, 1)) ORDER BY j.unit_code) AS weights
    FROM j
    LEFT JOIN ref.departements d ON j.level = 'departement' AND d.code = j.unit_code
    LEFT JOIN ref.regions g ON j.level = 'region' AND g.code = j.unit_code
    GROUP BY j.fig, j.level
)
SELECT v.fig,
       json_object_agg(p.level, json_build_object(
           'level', p.level, 'value', p.cval, 'difference', v.value - p.cval,
           'weighted', p.weighted, 'weights', p.weights))
FROM unnest(p_values) v
JOIN per_level p ON p.fig = v.fig
GROUP BY v.fig;
END
$$;
COMMENT ON FUNCTION api._comparisons(api.cmp_value[], api.cmp_weight[], api.cmp_ref[]) IS
  'Département/région/France comparators: mean of unit values weighted by the territory''s published '
  'denominator in each unit (population when masked); difference in points on rounded values.';

-- Consumer-based indicators --------------------------------------------------------------------------------------

CREATE FUNCTION api._indicators(p_codes text[])
RETURNS TABLE (id text, section text, ordinal integer, published_numerator bigint, obj json)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
    WITH sel AS MATERIALIZED (
        SELECT p.commune_code AS code, p.departement_code AS dep, p.region_code AS reg,
               coalesce(p.population, 0)::numeric AS pop, o.ord::integer AS ord
        FROM unnest(p_codes) WITH ORDINALITY o(code, ord)
        JOIN stats.commune_profile p ON p.commune_code = o.code
    ), kept AS MATERIALIZED (
        -- Rules 1 and 2, per commune and indicator: only a commune with at least 50 consumers and a numerator
        -- and denominator of at least 11 counts. Every other cell, including a commune without data, is
        -- neutralised and contributes nothing anywhere (rule 6).
        SELECT c.indicator_id AS id, s.ord, s.dep, s.reg, c.numerator AS num, c.denominator AS den
        FROM stats.commune_indicators c
        JOIN sel s ON s.code = c.commune_code
        WHERE c.commune_code = ANY(p_codes) AND c.consumers >= 50 AND c.numerator >= 11 AND c.denominator >= 11
    ), by_dep AS MATERIALIZED (
        SELECT k.id, k.dep, min(k.reg) AS reg, sum(k.num) AS num, sum(k.den) AS den, count(*) AS n
        FROM kept k GROUP BY k.id, k.dep
    ), kept_ords AS (
        SELECT k.id, array_agg(k.ord) AS ords FROM kept k GROUP BY k.id
    ), neut AS (
        -- Array tests rather than an anti-join: cheap for 100 communes whatever the planner estimates.
        SELECT i.id, ARRAY(SELECT s.code FROM sel s WHERE s.ord <> ALL(coalesce(ko.ords, '{}')) ORDER BY s.ord) AS codes
        FROM ref.indicators i LEFT JOIN kept_ords ko ON ko.id = i.id
    ), tot AS (
        SELECT i.id, sum(b.num) AS num, sum(b.den) AS den,
               n.codes AS neut_codes, cardinality(n.codes) AS n_neut,
               (SELECT count(*) FROM sel) AS n_sel
        FROM ref.indicators i
        LEFT JOIN by_dep b ON b.id = i.id
        LEFT JOIN neut n ON n.id = i.id
        GROUP BY i.id, n.codes
    ), val AS (
        -- Rule 3: the territory's own sums below 11 are not published.
        SELECT t.*, (t.num IS NULL OR t.num < 11 OR t.den < 11) AS masked,
               CASE WHEN t.num >= 11 AND t.den >= 11 THEN round(100.0 * t.num / t.den, 1) END AS value
        FROM tot t
    ), units AS (
        SELECT 'departement'::text AS level, s.dep AS unit_code, sum(s.pop) AS pop, count(*)::integer AS ncom
        FROM sel s GROUP BY s.dep
        UNION ALL
        SELECT 'region', s.reg, sum(s.pop), count(*)::integer FROM sel s GROUP BY s.reg
        UNION ALL
        SELECT 'france', 'FR', sum(s.pop), count(*)::integer FROM sel s
    ), unit_den AS (
        SELECT b.id, 'departement'::text AS level, b.dep AS unit_code, b.den FROM by_dep b
        UNION ALL
        SELECT b.id, 'region', b.reg, sum(b.den) FROM by_dep b GROUP BY b.id, b.reg
        UNION ALL
        SELECT b.id, 'france', 'FR', sum(b.den) FROM by_dep b GROUP BY b.id
    ), w AS (
        SELECT i.id AS fig, u.level, u.unit_code, coalesce(d.den, 0)::numeric AS w, u.pop, u.ncom
        FROM ref.indicators i CROSS JOIN units u
        LEFT JOIN unit_den d ON d.id = i.id AND d.level = u.level AND d.unit_code = u.unit_code
    ), r AS (
        SELECT x.indicator_id AS fig, x.level, x.unit_code,
               CASE WHEN x.numerator >= 11 AND x.denominator >= 11
                    THEN 100.0 * x.numerator / x.denominator END AS value
        FROM stats.reference_indicators x
        JOIN units u ON u.level = x.level AND u.unit_code = x.unit_code
    ), cmp AS (
        SELECT * FROM api._comparisons(
            (SELECT array_agg(ROW(v.id, v.value)::api.cmp_value) FROM val v),
            (SELECT array_agg(ROW(w.fig, w.level, w.unit_code, w.w, w.pop, w.ncom)::api.cmp_weight) FROM w),
            (SELECT array_agg(ROW(r.fig, r.level, r.unit_code, r.value)::api.cmp_ref) FROM r))
    )
    SELECT i.id, i.section, i.ordinal, CASE WHEN NOT v.masked THEN v.num END::bigint,
           json_build_object(
               'id', i.id, 'section', i.section, 'label', i.label, 'definition', i.definition,
               'numerator_label', i.numerator_label, 'denominator_label', i.denominator_label, 'unit', i.unit,
               'value', v.value,
               'masked', v.masked,
               'reason', CASE WHEN NOT v.masked THEN NULL
                              WHEN v.n_neut = v.n_sel THEN 'Secret statistique : toutes les communes sont '
                                   || 'neutralisées (moins de 50 consommateurs ou effectif inférieur à 11)'
                              ELSE 'Secret statistique : effectif du territoire inférieur à 11' END,
               'partial', NOT v.masked AND v.n_neut > 0,
               'numerator', CASE WHEN NOT v.masked THEN v.num END,
               'denominator', CASE WHEN NOT v.masked THEN v.den END,
               'neutralised_communes', v.neut_codes,
               'neutralised_rate', round(100.0 * v.n_neut / v.n_sel, 1),
               'comparisons', cmp.comparisons,
               'source', coalesce(ds.label, 'Source non chargée'),
               'period', coalesce(ds.vintage, 'non renseignée'),
               'is_demo', coalesce(ds.is_demo, false))
    FROM ref.indicators i
    JOIN val v ON v.id = i.id
    JOIN cmp ON cmp.fig = i.id
    LEFT JOIN LATERAL (SELECT h.source FROM health.indicator_counts h WHERE h.indicator_id = i.id
                       ORDER BY h.indicator_id, h.commune_code LIMIT 1) hs
           ON true
    LEFT JOIN ref.data_sources ds ON ds.source = hs.source;
END
$$;
COMMENT ON FUNCTION api._indicators(text[]) IS
  'Every consumer-based indicator of the selection after rules 1, 2, 3 and 6, as Indicator JSON objects.';

-- Population: age bands ------------------------------------------------------------------------------------------

CREATE FUNCTION api._population(p_codes text[], p_indicators json)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_population bigint;
    v_result json;
BEGIN
    SELECT coalesce(sum(p.population), 0) INTO v_population
    FROM stats.commune_profile p WHERE p.commune_code = ANY(p_codes);

    WITH sel AS (
        SELECT p.commune_code AS code, p.departement_code AS dep, p.region_code AS reg,
               coalesce(p.population, 0)::numeric AS pop, p.consumers, o.ord,
               p.consumers >= 50 AS counted          -- rule 1
        FROM unnest(p_codes) WITH ORDINALITY o(code, ord)
        JOIN stats.commune_profile p ON p.commune_code = o.code
    ), bands(band, ord, label) AS (
        VALUES ('0-17', 1, 'Moins de 18 ans'), ('18-39', 2, '18 à 39 ans'), ('40-64', 3, '40 à 64 ans'),
               ('65-79', 4, '65 à 79 ans'), ('80+', 5, '80 ans et plus')
    ), cnt AS (
        SELECT b.band, b.ord, b.label, coalesce(sum(a.n), 0) AS n
        FROM bands b
        LEFT JOIN (stats.commune_age_bands a JOIN sel s ON s.code = a.commune_code AND s.counted)
               ON a.age_band = b.band
        GROUP BY b.band, b.ord, b.label
    ), total AS (
        SELECT sum(c.n) AS n, sum(c.n) < 11 AS masked FROM cnt c
    ), primary_mask AS (
        SELECT c.*, (c.n < 11 OR t.masked) AS masked1 FROM cnt c CROSS JOIN total t
    ), secondary AS (
        -- One masked band next to a published total could be recovered by difference: hide the smallest
        -- other band too.
        SELECT m.band FROM primary_mask m
        WHERE (SELECT count(*) FROM primary_mask x WHERE x.masked1) = 1 AND NOT m.masked1
        ORDER BY m.n, m.ord DESC LIMIT 1
    ), masked AS (
        SELECT m.*, m.masked1 OR m.band IN (SELECT band FROM secondary) AS masked,
               CASE WHEN m.masked1 AND t.masked THEN 'Secret statistique : moins de 11 consommateurs sur le territoire'
                    WHEN m.masked1 THEN 'Secret statistique : effectif inférieur à 11'
                    WHEN m.band IN (SELECT band FROM secondary)
                         THEN 'Secret statistique : masquée pour qu''une autre tranche ne puisse être retrouvée par différence'
               END AS reason,
               t.n AS total_n
        FROM primary_mask m CROSS JOIN total t
    ), allowed AS (
        -- Rule 5: comparisons only for a territory of at least 11 inhabitants (and a published total).
        SELECT v_population >= 11 AND NOT t.masked AS ok FROM total t
    ), w AS (
        SELECT b.band AS fig, x.level, x.unit_code,
               coalesce(sum(s.consumers) FILTER (WHERE s.counted), 0)::numeric AS w, sum(s.pop) AS pop,
               count(*)::integer AS ncom
        FROM bands b CROSS JOIN sel s
        CROSS JOIN LATERAL (VALUES ('departement', s.dep), ('region', s.reg), ('france', 'FR')) x(level, unit_code)
        GROUP BY b.band, x.level, x.unit_code
    ), reftot AS (
        SELECT r.level, r.unit_code, sum(r.n) AS n FROM stats.reference_age_bands r
        WHERE (r.level, r.unit_code) IN (SELECT DISTINCT w.level, w.unit_code FROM w)
        GROUP BY r.level, r.unit_code
    ), r AS (
        SELECT r.age_band AS fig, r.level, r.unit_code,
               CASE WHEN r.n >= 11 THEN 100.0 * r.n / nullif(t.n, 0) END AS value
        FROM stats.reference_age_bands r
        JOIN reftot t ON t.level = r.level AND t.unit_code = r.unit_code
    ), vals AS (
        SELECT m.*, CASE WHEN NOT m.masked THEN round(100.0 * m.n / m.total_n, 1) END AS share FROM masked m
    ), cmp AS (
        SELECT * FROM api._comparisons(
            (SELECT array_agg(ROW(v.band, v.share)::api.cmp_value) FROM vals v),
            (SELECT array_agg(ROW(w.fig, w.level, w.unit_code, w.w, w.pop, w.ncom)::api.cmp_weight) FROM w),
            (SELECT array_agg(ROW(r.fig, r.level, r.unit_code, r.value)::api.cmp_ref) FROM r))
    )
    SELECT json_build_object(
        'age_bands', (SELECT json_agg(json_build_object(
                          'band', v.band, 'label', v.label,
                          'count', CASE WHEN NOT v.masked THEN v.n END,
                          'share', v.share, 'masked', v.masked, 'reason', v.reason,
                          'comparisons', CASE WHEN (SELECT ok FROM allowed) THEN c.comparisons END)
                          ORDER BY v.ord)
                      FROM vals v LEFT JOIN cmp c ON c.fig = v.band),
        'age_total', (SELECT CASE WHEN NOT t.masked THEN t.n END FROM total t),
        'age_neutralised_communes', coalesce((SELECT array_agg(s.code ORDER BY s.ord) FROM sel s
                                              WHERE NOT s.counted), '{}'),
        'age_comparison', (SELECT ok FROM allowed),
        'indicators', coalesce(p_indicators, '[]'::json),
        'age_comparison_reason', CASE
            WHEN v_population < 11 THEN 'Comparaison non disponible : le territoire compte moins de 11 habitants'
            WHEN (SELECT masked FROM total) THEN 'Comparaison non disponible : moins de 11 consommateurs retenus'
        END,
        'source', coalesce(ds.label, 'Source non chargée'),
        'period', coalesce(ds.vintage, 'non renseignée'))
    INTO v_result
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (SELECT h.source FROM health.consumers h LIMIT 1) hs ON true
    LEFT JOIN ref.data_sources ds ON ds.source = hs.source;
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION api._population(text[], json) IS
  'Age bands of consumers (rules 1, 3 with secondary suppression, 5) with weighted comparisons.';

-- Offer of care --------------------------------------------------------------------------------------------------

CREATE FUNCTION api._demography(p_codes text[])
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
    WITH cnt AS (
        SELECT k.key, k.label, k.family, k.is_business, k.parent_key, k.ordinal,
               coalesce(sum(d.n), 0)::integer AS n,
               sum(d.n_60plus)::integer AS n60, sum(d.n_65plus)::integer AS n65
        FROM ref.ps_categories k
        LEFT JOIN stats.commune_demography d ON d.category = k.key AND d.commune_code = ANY(p_codes)
        GROUP BY k.key
    )
    SELECT json_agg(json_build_object(
               'category', c.key, 'label', c.label, 'family', c.family, 'is_business', c.is_business,
               'parent', c.parent_key, 'n', c.n,
               -- Ages of fewer than 5 people would describe identifiable professionals.
               'n_60plus', CASE WHEN NOT c.is_business AND c.n >= 5 THEN coalesce(c.n60, 0) END,
               'n_65plus', CASE WHEN NOT c.is_business AND c.n >= 5 THEN coalesce(c.n65, 0) END,
               'ages_masked', c.is_business OR c.n < 5,
               'ages_reason', CASE WHEN c.is_business THEN 'Sans objet : seules les officines ou sociétés sont dénombrées'
                                   WHEN c.n < 5 THEN 'Secret statistique : moins de 5 professionnels' END)
           ORDER BY c.ordinal)
    FROM cnt c
    );
END
$$;
COMMENT ON FUNCTION api._demography(text[]) IS 'Professionals per category with 60+/65+ (rule 7).';

CREATE FUNCTION api._activity(p_codes text[])
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_result json;
BEGIN
    WITH sel AS (
        SELECT p.commune_code AS code, p.departement_code AS dep, p.region_code AS reg,
               coalesce(p.population, 0)::numeric AS pop, o.ord
        FROM unnest(p_codes) WITH ORDINALITY o(code, ord)
        JOIN stats.commune_profile p ON p.commune_code = o.code
    ), prof AS (
        SELECT k.key AS profession, k.label, k.ordinal FROM ref.ps_categories k
        WHERE k.key IN (SELECT t.profession FROM ref.act_types t)
    ), cell AS (
        -- Rule 4: a commune counts for a profession only with at least 5 professionals of it.
        SELECT f.profession, s.code, s.dep, s.reg, s.pop, s.ord,
               coalesce(a.n_ps, 0) AS n_ps, coalesce(a.patients, 0) AS patients, coalesce(a.n_ps, 0) >= 5 AS counted
        FROM prof f CROSS JOIN sel s
        LEFT JOIN stats.commune_activity a ON a.profession = f.profession AND a.commune_code = s.code
    ), acts AS (
        SELECT t.key AS act_type, t.profession, t.label, t.detail, t.ordinal,
               coalesce(sum(q.quantity) FILTER (WHERE c.counted), 0) AS quantity
        FROM ref.act_types t
        JOIN cell c ON c.profession = t.profession
        LEFT JOIN stats.commune_acts q ON q.act_type = t.key AND q.commune_code = c.code
        GROUP BY t.key
    ), tot AS (
        SELECT c.profession,
               sum(c.n_ps) AS n_total,
               sum(c.n_ps) FILTER (WHERE c.counted) AS n_counted,
               sum(c.n_ps) FILTER (WHERE NOT c.counted) AS n_neut,
               sum(c.patients) FILTER (WHERE c.counted) AS patients,
               coalesce(array_agg(c.code ORDER BY c.ord) FILTER (WHERE NOT c.counted AND c.n_ps > 0), '{}') AS neut,
               coalesce(array_agg(c.code ORDER BY c.ord) FILTER (WHERE c.n_ps = 0), '{}') AS inactive,
               json_agg(json_build_object('code', c.code, 'n_ps', c.n_ps, 'counted', c.counted) ORDER BY c.ord) AS cells
        FROM cell c GROUP BY c.profession
    ), figs AS (
        -- Patients and acts per professional, on counted communes only; masked when none counts (never "0*").
        SELECT t.profession AS fig, t.profession, 'patients'::text AS kind, 0 AS ordinal,
               'Nombre de patients par professionnel'::text AS label,
               'Patientèle totale rapportée au nombre de professionnels des communes retenues'::text AS detail,
               CASE WHEN coalesce(t.n_counted, 0) > 0 AND t.patients >= 11
                    THEN round(t.patients::numeric / t.n_counted, 1) END AS value
        FROM tot t
        UNION ALL
        SELECT a.act_type, a.profession, 'acts', a.ordinal, a.label, a.detail,
               CASE WHEN coalesce(t.n_counted, 0) > 0 THEN round(a.quantity / t.n_counted, 1) END
        FROM acts a JOIN tot t ON t.profession = a.profession
    ), w AS (
        SELECT f.fig, x.level, x.unit_code,
               coalesce(sum(c.n_ps) FILTER (WHERE c.counted), 0)::numeric AS w, sum(c.pop) AS pop,
               count(*)::integer AS ncom
        FROM figs f JOIN cell c ON c.profession = f.profession
        CROSS JOIN LATERAL (VALUES ('departement', c.dep), ('region', c.reg), ('france', 'FR')) x(level, unit_code)
        GROUP BY f.fig, x.level, x.unit_code
    ), units AS (
        SELECT DISTINCT w.level, w.unit_code FROM w
    ), r AS (
        SELECT x.profession AS fig, x.level, x.unit_code,
               CASE WHEN x.n_ps >= 5 AND x.patients >= 11 THEN x.patients::numeric / x.n_ps END AS value
        FROM stats.reference_activity x
        WHERE (x.level, x.unit_code) IN (SELECT * FROM units)
        UNION ALL
        SELECT x.act_type, x.level, x.unit_code,
               CASE WHEN x.n_ps >= 5 THEN x.quantity::numeric / x.n_ps END
        FROM stats.reference_acts x
        WHERE (x.level, x.unit_code) IN (SELECT * FROM units)
    ), cmp AS (
        SELECT * FROM api._comparisons(
            (SELECT array_agg(ROW(f.fig, f.value)::api.cmp_value) FROM figs f),
            (SELECT array_agg(ROW(w.fig, w.level, w.unit_code, w.w, w.pop, w.ncom)::api.cmp_weight) FROM w),
            (SELECT array_agg(ROW(r.fig, r.level, r.unit_code, r.value)::api.cmp_ref) FROM r))
    ), fig_json AS (
        SELECT f.profession, f.kind, f.ordinal,
               json_build_object(
                   'key', f.fig, 'label', f.label, 'detail', f.detail, 'value', f.value,
                   'masked', f.value IS NULL,
                   'reason', CASE WHEN f.value IS NULL AND coalesce(t.n_counted, 0) = 0
                                  THEN 'Secret statistique : aucune commune ne compte au moins 5 professionnels de '
                                       || 'cette profession'
                                  WHEN f.value IS NULL THEN 'Secret statistique : effectif inférieur à 11' END,
                   'partial', f.value IS NOT NULL AND t.n_neut > 0,
                   'comparisons', c.comparisons) AS obj
        FROM figs f JOIN tot t ON t.profession = f.profession JOIN cmp c ON c.fig = f.fig
    )
    SELECT json_agg(json_build_object(
               'profession', f.profession, 'label', f.label,
               'communes', t.cells,
               'n_ps_total', t.n_total, 'n_ps_counted', coalesce(t.n_counted, 0), 'n_ps_neutralised', coalesce(t.n_neut, 0),
               'neutralised_communes', t.neut, 'inactive_communes', t.inactive,
               'neutralised_rate', CASE WHEN t.n_total > 0 THEN round(100.0 * coalesce(t.n_neut, 0) / t.n_total, 1) ELSE 0 END,
               'summary', concat_ws(' et ',
                              CASE WHEN cardinality(t.inactive) > 0
                                   THEN cardinality(t.inactive) || ' commune(s) sans activité' END,
                              CASE WHEN cardinality(t.neut) > 0
                                   THEN cardinality(t.neut) || ' commune(s) neutralisée(s) : ' || t.n_neut || ' sur '
                                        || t.n_total || ' professionnel(s) non pris en compte'
                                   ELSE 'aucune commune neutralisée' END),
               'patients_per_ps', (SELECT j.obj FROM fig_json j WHERE j.profession = f.profession AND j.kind = 'patients'),
               'acts', coalesce((SELECT json_agg(j.obj ORDER BY j.ordinal) FROM fig_json j
                                 WHERE j.profession = f.profession AND j.kind = 'acts'), '[]'::json))
           ORDER BY f.ordinal)
    INTO v_result
    FROM prof f JOIN tot t ON t.profession = f.profession;
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION api._activity(text[]) IS
  'Activity per profession: per-commune professionals, rule 4 neutralisation, patients and acts per professional.';

CREATE FUNCTION api._structures(p_codes text[])
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
    WITH sel AS (
        SELECT p.commune_code AS code, p.nom, o.ord
        FROM unnest(p_codes) WITH ORDINALITY o(code, ord)
        JOIN stats.commune_profile p ON p.commune_code = o.code
    ), groups AS (
        SELECT g.key, g.label, g.sector, g.coordinated, g.ordinal,
               coalesce(sum(f.n), 0)::integer AS total,
               coalesce(json_agg(json_build_object('code', s.code, 'nom', s.nom, 'n', f.n) ORDER BY s.ord)
                        FILTER (WHERE f.n > 0), '[]'::json) AS communes
        FROM ref.finess_groups g
        LEFT JOIN (stats.commune_finess f JOIN sel s ON s.code = f.commune_code) ON f.group_key = g.key
        GROUP BY g.key
    ), cds(key, label, ordinal) AS (
        VALUES ('medical_polyvalent', 'Centres de santé médicaux et polyvalents', 1),
               ('dentaire', 'Centres de santé dentaires', 2),
               ('infirmier', 'Centres de santé infirmiers', 3),
               ('non_type', 'Centres de santé non typés (e-CDS ATIH)', 4)
    ), cds_groups AS (
        SELECT t.key, t.label, t.ordinal, coalesce(sum(c.n), 0)::integer AS total,
               coalesce(json_agg(json_build_object('code', s.code, 'nom', s.nom, 'n', c.n) ORDER BY s.ord)
                        FILTER (WHERE c.n > 0), '[]'::json) AS communes
        FROM cds t
        LEFT JOIN (stats.commune_cds c JOIN sel s ON s.code = c.commune_code) ON c.cds_type = t.key
        GROUP BY t.key, t.label, t.ordinal
    )
    SELECT json_build_object(
        'structures', (SELECT json_agg(json_build_object('key', g.key, 'label', g.label, 'sector', g.sector,
                                                         'coordinated', g.coordinated, 'total', g.total,
                                                         'communes', g.communes) ORDER BY g.ordinal) FROM groups g),
        'centres_de_sante', (SELECT json_agg(json_build_object('key', c.key, 'label', c.label, 'sector', 'coordination',
                                                               'coordinated', true, 'total', c.total,
                                                               'communes', c.communes) ORDER BY c.ordinal) FROM cds_groups c))
    );
END
$$;
COMMENT ON FUNCTION api._structures(text[]) IS 'FINESS geographic entities per group and centres de santé by type.';

CREATE FUNCTION api._source_of(p_table text)
RETURNS ref.data_sources
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_source text;
    v_row ref.data_sources;
BEGIN
    -- One row of the raw table names its source; every row of a table comes from one file.
    CASE p_table
        WHEN 'ps_demography' THEN SELECT d.source INTO v_source FROM health.ps_demography d LIMIT 1;
        WHEN 'ps_activity' THEN SELECT d.source INTO v_source FROM health.ps_activity d LIMIT 1;
        WHEN 'finess_et' THEN SELECT d.source INTO v_source FROM health.finess_et d LIMIT 1;
        ELSE RAISE EXCEPTION 'unknown table %', p_table;
    END CASE;
    SELECT * INTO v_row FROM ref.data_sources s WHERE s.source = v_source;
    RETURN v_row;
END
$$;

CREATE FUNCTION api._offer(p_codes text[])
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_demo ref.data_sources := api._source_of('ps_demography');
    v_act ref.data_sources := api._source_of('ps_activity');
    v_fin ref.data_sources := api._source_of('finess_et');
    v_struct json := api._structures(p_codes);
BEGIN
    RETURN json_build_object(
        'demography', api._demography(p_codes),
        'demography_source', coalesce(v_demo.label, 'Source non chargée'),
        'demography_period', coalesce(v_demo.vintage, 'non renseignée'),
        'activity', api._activity(p_codes),
        'activity_source', coalesce(v_act.label, 'Source non chargée'),
        'activity_period', coalesce(v_act.vintage, 'non renseignée'),
        'structures', v_struct -> 'structures',
        'centres_de_sante', v_struct -> 'centres_de_sante',
        'structures_source', coalesce(v_fin.label, 'Source non chargée'),
        'structures_period', coalesce(v_fin.vintage, 'non renseignée'));
END
$$;
COMMENT ON FUNCTION api._offer(text[]) IS 'Offer of care section of the diagnosis.';

-- Territory, communes and alerts -----------------------------------------------------------------------------

CREATE FUNCTION api._territory(p_codes text[])
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RETURN (
    WITH sel AS (
        SELECT p.commune_code AS code, p.nom, p.departement_code AS dep, p.region_code AS reg, p.population,
               p.qpv_codes, p.zonage, p.cpts_id, p.cpts_nom, p.cpts_statut, o.ord,
               p.population IS NULL AS no_population, p.contour_status = 'missing' AS no_contour,
               p.departement_code = '976' AS mayotte
        FROM unnest(p_codes) WITH ORDINALITY o(code, ord)
        JOIN stats.commune_profile p ON p.commune_code = o.code
    ), deps AS (
        SELECT s.dep AS code, d.nom, array_agg(s.code ORDER BY s.ord) AS communes,
               coalesce(sum(s.population), 0) AS population, min(s.ord) AS ord
        FROM sel s JOIN ref.departements d ON d.code = s.dep GROUP BY s.dep, d.nom
    ), regs AS (
        SELECT s.reg AS code, r.nom, array_agg(s.code ORDER BY s.ord) AS communes,
               coalesce(sum(s.population), 0) AS population, min(s.ord) AS ord
        FROM sel s JOIN ref.regions r ON r.code = s.reg GROUP BY s.reg, r.nom
    ), qpv AS (
        SELECT DISTINCT q.code FROM sel s CROSS JOIN LATERAL unnest(s.qpv_codes) q(code)
    ), geo AS (
        -- Contiguity: communes sharing at least a point are neighbours (the contours are topologically clean).
        SELECT s.code, s.ord, ST_ClusterDBSCAN(c.geom, 0, 1) OVER () AS cluster
        FROM sel s JOIN ref.communes c ON c.code = s.code
        WHERE c.geom IS NOT NULL
    ), clusters AS (
        SELECT g.cluster, count(*) AS n, min(g.ord) AS first FROM geo g GROUP BY g.cluster
    ), main_cluster AS (
        SELECT c.cluster FROM clusters c ORDER BY c.n DESC, c.first LIMIT 1
    ), homonyms AS (
        SELECT c.search_key, array_agg(s.code ORDER BY s.ord) AS codes,
               min(s.nom) || ' (' || string_agg(s.code || ', ' || d.nom, ' ; ' ORDER BY s.ord) || ')' AS txt,
               min(s.ord) AS ord
        FROM sel s JOIN ref.communes c ON c.code = s.code JOIN ref.departements d ON d.code = s.dep
        GROUP BY c.search_key HAVING count(*) > 1
    ), partial AS (
        SELECT s.code, s.ord, s.nom || ' (' || s.code || ' : '
               || concat_ws(', ', CASE WHEN s.no_population THEN 'population INSEE absente' END,
                                  CASE WHEN s.no_contour THEN 'contour absent' END,
                                  CASE WHEN s.mayotte THEN 'données de santé incomplètes à Mayotte' END) || ')' AS txt
        FROM sel s WHERE s.no_population OR s.no_contour OR s.mayotte
    ), alerts AS (
        SELECT 1 AS ord, 'commune_in_cpts' AS code,
               'Commune(s) déjà intégrée(s) dans une CPTS existante : '
               || string_agg(s.nom || ' (' || s.cpts_nom || ')', ', ' ORDER BY s.ord) AS message,
               array_agg(s.code ORDER BY s.ord) AS communes
        FROM sel s WHERE s.cpts_id IS NOT NULL HAVING count(*) > 0
        UNION ALL
        SELECT 2, 'multi_departement',
               'Le territoire s''étend sur ' || count(*) || ' départements ('
               || string_agg(d.nom || ' ' || d.code, ', ' ORDER BY d.ord)
               || ') : les comparaisons départementales sont pondérées par le poids de chaque département dans le territoire.',
               '{}'::text[]
        FROM deps d HAVING count(*) > 1
        UNION ALL
        SELECT 3, 'multi_region',
               'Le territoire s''étend sur ' || count(*) || ' régions ('
               || string_agg(r.nom, ', ' ORDER BY r.ord)
               || ') : les comparaisons régionales sont pondérées par le poids de chaque région dans le territoire.',
               '{}'::text[]
        FROM regs r HAVING count(*) > 1
        UNION ALL
        SELECT 4, 'non_contiguous',
               'Le territoire n''est pas d''un seul tenant : ' || (SELECT count(*) FROM clusters)
               || ' ensembles de communes non contigus. Communes séparées du plus grand ensemble : '
               || string_agg(s.nom || ' (' || s.code || ')', ', ' ORDER BY s.ord) || '.',
               array_agg(s.code ORDER BY s.ord)
        FROM geo g JOIN sel s ON s.code = g.code
        WHERE g.cluster <> (SELECT cluster FROM main_cluster)
        HAVING count(*) > 0
        UNION ALL
        SELECT 5, 'homonyms',
               'Communes homonymes dans la sélection : ' || string_agg(h.txt, ' ; ' ORDER BY h.ord)
               || '. Vérifiez qu''il s''agit bien des communes voulues.',
               (SELECT array_agg(x.code ORDER BY y.ord, x.i)
                FROM homonyms y CROSS JOIN LATERAL unnest(y.codes) WITH ORDINALITY x(code, i))
        FROM homonyms h
        HAVING count(*) > 0
        UNION ALL
        SELECT 6, 'partial_data',
               'Données partielles pour : ' || string_agg(p.txt, ' ; ' ORDER BY p.ord) || '.',
               array_agg(p.code ORDER BY p.ord)
        FROM partial p HAVING count(*) > 0
    )
    SELECT json_build_object(
        'territory', json_build_object(
            'commune_count', (SELECT count(*) FROM sel),
            'population', (SELECT coalesce(sum(s.population), 0) FROM sel s),
            'population_partial', (SELECT coalesce(bool_or(s.no_population), false) FROM sel s),
            'departements', (SELECT json_agg(json_build_object('code', d.code, 'nom', d.nom, 'communes', d.communes,
                                                               'population', d.population) ORDER BY d.ord) FROM deps d),
            'regions', (SELECT json_agg(json_build_object('code', r.code, 'nom', r.nom, 'communes', r.communes,
                                                          'population', r.population) ORDER BY r.ord) FROM regs r),
            'qpv_count', (SELECT count(*) FROM qpv),
            'qpv_codes', coalesce((SELECT array_agg(q.code ORDER BY q.code) FROM qpv q), '{}'),
            'qpv_commune_sum', (SELECT coalesce(sum(cardinality(s.qpv_codes)), 0) FROM sel s),
            'zonage_count', (SELECT count(*) FROM sel s WHERE s.zonage IS NOT NULL),
            'zip_count', (SELECT count(*) FROM sel s WHERE s.zonage = 'ZIP'),
            'zac_count', (SELECT count(*) FROM sel s WHERE s.zonage = 'ZAC')),
        'communes', (SELECT json_agg(json_build_object(
                         'code', s.code, 'nom', s.nom, 'departement', s.dep, 'region', s.reg,
                         'population', s.population, 'qpv', s.qpv_codes, 'qpv_count', cardinality(s.qpv_codes),
                         'zonage', s.zonage,
                         'cpts', CASE WHEN s.cpts_id IS NOT NULL
                                      THEN json_build_object('id', s.cpts_id, 'nom', s.cpts_nom, 'statut', s.cpts_statut) END,
                         'partial', s.no_population OR s.no_contour OR s.mayotte) ORDER BY s.ord) FROM sel s),
        'alerts', coalesce((SELECT json_agg(json_build_object('code', a.code, 'message', a.message,
                                                              'communes', a.communes) ORDER BY a.ord) FROM alerts a),
                           '[]'::json))
    );
END
$$;
COMMENT ON FUNCTION api._territory(text[]) IS
  'Territory totals (distinct QPV, zonage k sur N), communes and alerts (CPTS, multi-unit, contiguity, homonyms within '
  'the selection, partial data).';

-- ACI --------------------------------------------------------------------------------------------------------

CREATE FUNCTION api._aci(p_population bigint)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
    WITH size AS (
        SELECT z.* FROM api.aci_sizes z
        WHERE p_population >= z.min_pop AND (z.max_pop IS NULL OR p_population < z.max_pop)
    ), thresholds AS (
        SELECT z.max_pop AS t, z.size FROM api.aci_sizes z WHERE z.max_pop IS NOT NULL
    ), near AS (
        -- Within 5 % of a threshold the size may change with the population the contract refers to.
        SELECT t.t, t.size FROM thresholds t WHERE abs(p_population - t.t) <= 0.05 * t.t ORDER BY t.t LIMIT 1
    ), base AS (
        SELECT p.*, m.label AS mission_label, m.optional, m.ordinal AS m_ord, v.label AS volet_label, v.ordinal AS v_ord
        FROM api.aci_parameters p
        JOIN api.aci_missions m ON m.mission = p.mission
        JOIN api.aci_volets v ON v.volet = p.volet
        WHERE p.size = (SELECT size FROM size) AND p.valid_from <= current_date
    ), first_instrument AS (
        SELECT b.instrument FROM base b ORDER BY b.valid_from LIMIT 1
    ), line AS (
        SELECT b.*, json_build_object(
                   'instrument', b.instrument, 'valid_from', to_char(b.valid_from, 'YYYY-MM-DD'),
                   'mission', b.mission, 'mission_label', b.mission_label, 'volet', b.volet,
                   'volet_label', b.volet_label, 'optional', b.optional, 'amount', b.amount,
                   'verified', b.verified, 'note', b.note) AS obj
        FROM base b
    ), missions AS (
        SELECT l.mission, l.mission_label, l.optional, l.m_ord, sum(l.amount) AS total,
               json_agg(l.obj ORDER BY l.v_ord) AS lines
        FROM line l WHERE l.instrument = (SELECT instrument FROM first_instrument)
        GROUP BY l.mission, l.mission_label, l.optional, l.m_ord
    )
    SELECT json_build_object(
        'population', p_population,
        'size', z.size,
        'size_label', z.label,
        'thresholds', (SELECT json_agg(t.t ORDER BY t.t) FROM thresholds t),
        'near_threshold', EXISTS (SELECT 1 FROM near),
        'warning', (SELECT 'La population du territoire (' || replace(to_char(p_population, 'FM999,999,999'), ',', ' ')
                           || ' habitants) est à moins de 5 % du seuil de '
                           || replace(to_char(n.t, 'FM999,999,999'), ',', ' ') || ' habitants entre les tailles '
                           || n.size || ' et ' || n.size + 1
                           || ' : la taille retenue au contrat peut différer selon la population de référence.'
                    FROM near n),
        'schedule', (SELECT instrument FROM first_instrument),
        'missions', coalesce((SELECT json_agg(json_build_object('mission', m.mission, 'label', m.mission_label,
                                                               'optional', m.optional, 'total', m.total,
                                                               'lines', m.lines) ORDER BY m.m_ord) FROM missions m),
                             '[]'::json),
        'total', (SELECT coalesce(sum(m.total), 0) FROM missions m),
        'amendments', coalesce((SELECT json_agg(l.obj ORDER BY l.valid_from, l.m_ord, l.v_ord) FROM line l
                                WHERE l.instrument <> (SELECT instrument FROM first_instrument)), '[]'::json))
    FROM size z
    );
END
$$;
COMMENT ON FUNCTION api._aci(bigint) IS
  'CPTS size band, 5 % threshold warning and ACI envelope per mission and volet from the dated parameters.';

-- Public entry points ------------------------------------------------------------------------------------------

CREATE FUNCTION api._checked_selection(p_codes text[])
RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_unknown text[];
    v_sorted text[];
BEGIN
    IF coalesce(cardinality(p_codes), 0) = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'RZ002', MESSAGE = 'empty selection', DETAIL = '[]';
    END IF;
    SELECT array_agg(DISTINCT c ORDER BY c) INTO v_unknown
    FROM unnest(p_codes) c
    WHERE NOT EXISTS (SELECT 1 FROM stats.commune_profile p WHERE p.commune_code = c);
    IF v_unknown IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'RZ001', MESSAGE = 'unknown communes', DETAIL = to_json(v_unknown)::text;
    END IF;
    -- Table order: by département, then name; every list of codes in the output follows it.
    SELECT array_agg(p.commune_code ORDER BY p.departement_code, p.nom, p.commune_code) INTO v_sorted
    FROM stats.commune_profile p WHERE p.commune_code = ANY(p_codes);
    RETURN v_sorted;
END
$$;

CREATE FUNCTION api.diagnosis(p_codes text[], p_ald text[] DEFAULT '{}')
RETURNS json
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_codes text[] := api._checked_selection(p_codes);
    v_bad text[];
    v_territory json;
    v_population bigint;
    v_result json;
BEGIN
    SELECT array_agg(a ORDER BY a) INTO v_bad FROM unnest(coalesce(p_ald, '{}')) a
    WHERE NOT EXISTS (SELECT 1 FROM ref.indicators i WHERE i.id = a AND i.section = 'prevalence');
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'RZ003', MESSAGE = 'unknown ALD indicators', DETAIL = to_json(v_bad)::text;
    END IF;
    v_territory := api._territory(v_codes);
    v_population := (v_territory -> 'territory' ->> 'population')::bigint;

    WITH ind AS (
        SELECT x.*,
               CASE WHEN x.section = 'prevalence' AND x.published_numerator IS NOT NULL
                    THEN row_number() OVER (PARTITION BY x.section = 'prevalence' AND x.published_numerator IS NOT NULL
                                            ORDER BY x.published_numerator DESC, x.ordinal) END AS rk
        FROM api._indicators(v_codes) x
    ), parts AS (
        SELECT coalesce(json_agg(i.obj ORDER BY i.ordinal) FILTER (WHERE i.section = 'population'), '[]') AS population,
               coalesce(json_agg(i.obj ORDER BY i.ordinal) FILTER (WHERE i.section = 'acces'), '[]') AS access,
               coalesce(json_agg(i.obj ORDER BY i.ordinal) FILTER (WHERE i.section = 'prevention'), '[]') AS prevention,
               coalesce(json_agg(i.obj ORDER BY i.ordinal) FILTER (WHERE i.section = 'vaccination'), '[]') AS vaccination,
               -- The top 5 ranks published values only: ranking masked ones would disclose an order.
               coalesce(json_agg(i.obj ORDER BY i.rk) FILTER (WHERE i.rk <= 5), '[]') AS top5,
               coalesce(json_agg(i.obj ORDER BY array_position(p_ald, i.id)) FILTER (WHERE i.id = ANY(p_ald)), '[]')
                   AS requested
        FROM ind i
    ), sources AS (
        SELECT json_agg(json_build_object('source', s.source, 'label', s.label, 'block', s.block,
                                          'vintage', s.vintage, 'is_demo', s.is_demo) ORDER BY s.block, s.source) AS list,
               coalesce(bool_or(s.is_demo), false) AS demo
        FROM ref.data_sources s
    )
    SELECT json_build_object(
        'data_version', ref.data_version(),
        'demo', s.demo,
        'sources', coalesce(s.list, '[]'::json),
        'secrecy_rules', (SELECT json_agg(json_build_object('id', r.id, 'text', r.text) ORDER BY r.ordinal)
                          FROM api.secrecy_rules r),
        'territory', v_territory -> 'territory',
        'communes', v_territory -> 'communes',
        'alerts', v_territory -> 'alerts',
        'population', api._population(v_codes, p.population),
        'access', p.access,
        'prevalences', json_build_object(
            'top5', p.top5, 'requested', p.requested,
            'catalogue', (SELECT json_agg(json_build_object('id', i.id, 'label', i.label) ORDER BY i.ordinal)
                          FROM ref.indicators i WHERE i.section = 'prevalence')),
        'prevention', p.prevention,
        'vaccination', p.vaccination,
        'offer', api._offer(v_codes),
        'aci', api._aci(v_population))
    INTO v_result
    FROM parts p CROSS JOIN sources s;
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION api.diagnosis(text[], text[]) IS
  'The masked territorial diagnosis of a selection of communes (contract: services/common/contract.py Diagnosis).';

CREATE FUNCTION api.summary(p_codes text[])
RETURNS json
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_codes text[] := api._checked_selection(p_codes);
    v_result json;
BEGIN
    WITH fam(key, label, ord) AS (
        VALUES ('specialistes', 'Spécialistes médicaux et dentaires', 1),
               ('auxiliaires', 'Auxiliaires médicaux', 2),
               ('pharmacies_labos', 'Pharmacies et laboratoires', 3),
               ('fournisseurs_transports', 'Fournisseurs, transporteurs sanitaires et taxis', 4)
    ), counts AS (
        -- "dont" rows (MEP) are a subset of their parent and never added.
        SELECT f.key, f.label, f.ord, coalesce(sum(d.n), 0)::integer AS n
        FROM fam f
        LEFT JOIN ref.ps_categories k ON k.family = f.key AND k.parent_key IS NULL
        LEFT JOIN stats.commune_demography d ON d.category = k.key AND d.commune_code = ANY(v_codes)
        GROUP BY f.key, f.label, f.ord
    )
    SELECT json_build_object(
        'data_version', ref.data_version(),
        'demo', coalesce((SELECT bool_or(s.is_demo) FROM ref.data_sources s), false),
        'commune_count', cardinality(v_codes),
        'population', (SELECT coalesce(sum(p.population), 0) FROM stats.commune_profile p
                       WHERE p.commune_code = ANY(v_codes)),
        'population_partial', (SELECT bool_or(p.population IS NULL) FROM stats.commune_profile p
                               WHERE p.commune_code = ANY(v_codes)),
        'professionals', (SELECT sum(c.n) FROM counts c),
        'families', (SELECT json_agg(json_build_object('key', c.key, 'label', c.label, 'n', c.n) ORDER BY c.ord)
                     FROM counts c),
        'structures', (SELECT coalesce(sum(f.n), 0) FROM stats.commune_finess f WHERE f.commune_code = ANY(v_codes)))
    INTO v_result;
    RETURN v_result;
END
$$;
COMMENT ON FUNCTION api.summary(text[]) IS
  'Header-bar figures of a selection: population, professionals by family, structures (contract: Summary).';

-- Only the two entry points are callable by the services' role; internal functions stay with the owner.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA api FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.diagnosis(text[], text[]), api.summary(text[]) TO rezone_reader;
