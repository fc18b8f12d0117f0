-- Purpose: the api functions apply the per-commune secrecy of V0100 to every published figure (issue 10,
--          docs/methodology.md §2): indicators, age bands, professionals' ages and activity read the kept
--          flags of the stats.*_kept views and the references read their sums over kept cells; comparators
--          are computed from the published (rounded) unit values and the published (rounded) weights only;
--          every figure carries a `status` (publie / secret / sans_objet) so that a public zero (no
--          professional, nobody living there) is never worded as secrecy.
-- Depends on: V0020 (api schema, types, the functions replaced here), V0100 (kept flags and reference sums).

SET LOCAL check_function_bodies = off;

CREATE OR REPLACE FUNCTION api._comparisons(p_values api.cmp_value[], p_weights api.cmp_weight[], p_refs api.cmp_ref[])
RETURNS TABLE (fig text, comparisons json)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
RETURN QUERY
WITH w AS MATERIALIZED (
    -- Keys in the "C" collation: every grouping and ordering below is then a plain byte comparison.
    SELECT x.fig COLLATE "C" AS fig, x.level COLLATE "C" AS level, x.unit_code COLLATE "C" AS unit_code,
           x.w, x.pop, x.ncom
    FROM unnest(p_weights) x
), refs AS MATERIALIZED (
    SELECT x.fig COLLATE "C" AS fig, x.level COLLATE "C" AS level, x.unit_code COLLATE "C" AS unit_code, x.value
    FROM unnest(p_refs) x
), lvl AS (
    SELECT w.fig, w.level, sum(w.w) AS sw, sum(w.pop) AS spop, sum(w.ncom) AS sncom, count(*) AS nunits
    FROM w GROUP BY w.fig, w.level
), names AS MATERIALIZED (
    -- Unit names looked up once, not per figure.
    SELECT u.level, u.unit_code, coalesce(d.nom, g.nom, 'France') AS nom
    FROM (SELECT DISTINCT w.level, w.unit_code FROM w) u
    LEFT JOIN ref.departements d ON u.level = 'departement' AND d.code = u.unit_code
    LEFT JOIN ref.regions g ON u.level = 'region' AND g.code = u.unit_code
), j AS (
    -- The territory's own published denominator in each unit; when it has none (masked territory), its INSEE
    -- population, and failing that its number of communes.
    SELECT w.fig, w.level, w.unit_code, l.nunits, r.value,
           CASE WHEN l.sw > 0 THEN w.w WHEN l.spop > 0 THEN w.pop ELSE w.ncom END AS wt,
           CASE WHEN l.sw > 0 THEN l.sw WHEN l.spop > 0 THEN l.spop ELSE l.sncom END AS swt
    FROM w
    JOIN lvl l ON l.fig = w.fig AND l.level = w.level
    LEFT JOIN refs r ON r.fig = w.fig AND r.level = w.level AND r.unit_code = w.unit_code
), pub AS (
    -- What is published of each unit: its weight rounded to 3 decimals and its value rounded to 1 decimal.
    -- The comparator is computed from these only: an attacker choosing the weights (subset sums) and
    -- bisecting on the rounded comparator learns nothing finer than the published unit values.
    SELECT j.fig, j.level, j.unit_code, j.nunits, round(j.wt / nullif(j.swt, 0), 3) AS rw,
           round(j.value, 1) AS rv
    FROM j
), per_level AS (
    SELECT j.fig, j.level, max(j.nunits) > 1 AS weighted,
           -- A weighted mean over a masked unit would let its value be solved for: no comparator then.
           CASE WHEN bool_and(j.rv IS NOT NULL OR j.rw = 0) AND sum(j.rw) > 0
                THEN round(sum(j.rw * coalesce(j.rv, 0)) / sum(j.rw), 1) END AS cval,
           json_agg(json_build_object(
               'code', j.unit_code, 'nom', n.nom, 'weight', j.rw, 'value', j.rv) ORDER BY j.unit_code) AS weights
    FROM pub j JOIN names n ON n.level = j.level AND n.unit_code = j.unit_code
    GROUP BY j.fig, j.level
)
SELECT v.fig::text,
       json_object_agg(p.level, json_build_object(
           'level', p.level, 'value', p.cval, 'difference', v.value - p.cval,
           'weighted', p.weighted, 'weights', p.weights))
FROM (SELECT x.fig COLLATE "C" AS fig, x.value FROM unnest(p_values) x) v
JOIN per_level p ON p.fig = v.fig
GROUP BY v.fig;
END
$$;


CREATE OR REPLACE FUNCTION api._indicators(p_codes text[], p_sel api.sel_commune[])
RETURNS TABLE (id text, section text, ordinal integer, published_numerator bigint, obj json)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_n integer := cardinality(p_codes);
    v_first text := (SELECT min(h.commune_code) FROM health.indicator_counts h);
    -- Nobody lives in any selected commune (INSEE population 0): a public fact, "sans objet", not a secret.
    v_empty boolean := coalesce((SELECT bool_and(coalesce(s.population, -1) = 0) FROM unnest(p_sel) s), false);
BEGIN
    RETURN QUERY
    WITH sel AS MATERIALIZED (
        -- The selection in table order: a commune's position is its order everywhere in the output. Keys in
        -- the "C" collation: groupings and orderings are then plain byte comparisons (codes only).
        SELECT s.code COLLATE "C" AS code, s.dep COLLATE "C" AS dep, s.reg COLLATE "C" AS reg,
               coalesce(s.population, 0)::numeric AS pop, s.ord
        FROM unnest(p_sel) s
    ), gs AS MATERIALIZED (
        -- Rules 1 and 2 in one pass over the selection's cells, summed per indicator, per département and per
        -- région at once. Whether a commune's cell is kept is decided on its own data (V0100: at least 50
        -- consumers; numerator, complement and linked differences at least 11); every other cell is
        -- neutralised and contributes nothing anywhere (rule 6).
        SELECT c.indicator_id COLLATE "C" AS id, s.dep, s.reg, GROUPING(s.dep, s.reg) AS grp,
               sum(c.numerator) FILTER (WHERE x.kept) AS num,
               sum(c.denominator) FILTER (WHERE x.kept) AS den,
               count(*) AS present,
               array_agg(s.ord) FILTER (WHERE NOT x.kept) AS neut
        FROM stats.commune_indicators_kept c
        JOIN sel s ON s.code = c.commune_code
        CROSS JOIN LATERAL (SELECT c.kept) x
        WHERE c.commune_code = ANY(p_codes)
        GROUP BY GROUPING SETS ((1), (1, s.dep), (1, s.reg))
    ), tot AS (
        SELECT i.id, t.num, t.den,
               -- A commune without any cell for the indicator is neutralised too (rare: no data at all).
               coalesce(t.neut, '{}') || CASE WHEN coalesce(t.present, 0) < v_n THEN ARRAY(
                   SELECT s.ord FROM sel s WHERE NOT EXISTS (
                       SELECT 1 FROM stats.commune_indicators_kept c
                       WHERE c.indicator_id = i.id AND c.commune_code = s.code)) ELSE '{}' END AS neut
        FROM ref.indicators i
        LEFT JOIN gs t ON t.id = i.id AND t.grp = 3
    ), val AS (
        -- Rule 3: the territory's own sums below 11 are not published.
        SELECT t.id, t.num, t.den, cardinality(t.neut) AS n_neut,
               ARRAY(SELECT p_codes[o] FROM unnest(t.neut) o ORDER BY o) AS neut_codes,
               (t.num IS NULL OR t.num < 11 OR t.den < 11) AS masked,
               CASE WHEN t.num >= 11 AND t.den >= 11 THEN round(100.0 * t.num / t.den, 1) END AS value
        FROM tot t
    ), units AS MATERIALIZED (
        SELECT 'departement'::text AS level, s.dep AS unit_code, sum(s.pop) AS pop, count(*)::integer AS ncom
        FROM sel s GROUP BY s.dep
        UNION ALL
        SELECT 'region', s.reg, sum(s.pop), count(*)::integer FROM sel s GROUP BY s.reg
        UNION ALL
        SELECT 'france', 'FR', sum(s.pop), count(*)::integer FROM sel s
    ), w AS (
        SELECT i.id AS fig, u.level, u.unit_code, coalesce(g.den, 0)::numeric AS w, u.pop, u.ncom
        FROM ref.indicators i CROSS JOIN units u
        LEFT JOIN gs g ON g.id = i.id AND (
               (u.level = 'departement' AND g.grp = 1 AND g.dep = u.unit_code)
            OR (u.level = 'region' AND g.grp = 2 AND g.reg = u.unit_code)
            OR (u.level = 'france' AND g.grp = 3))
    ), r AS (
        SELECT x.indicator_id AS fig, x.level, x.unit_code,
               CASE WHEN x.numerator >= 11 AND x.denominator >= 11
                    THEN 100.0 * x.numerator / x.denominator END AS value
        FROM units u
        JOIN stats.reference_indicators_kept x ON x.level = u.level AND x.unit_code = u.unit_code
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
               'masked', v.masked AND NOT v_empty,
               'status', CASE WHEN NOT v.masked THEN 'publie' WHEN v_empty THEN 'sans_objet' ELSE 'secret' END,
               'reason', CASE WHEN NOT v.masked THEN NULL
                              WHEN v_empty THEN 'Sans objet : aucun habitant sur le territoire (population INSEE nulle)'
                              WHEN v.n_neut = v_n THEN 'Secret statistique : toutes les communes sont '
                                   || 'neutralisées (moins de 50 consommateurs, ou effectif, complément ou '
                                   || 'différence avec un autre effectif publié inférieur à 11)'
                              ELSE 'Secret statistique : effectif du territoire inférieur à 11' END,
               'partial', NOT v.masked AND v.n_neut > 0,
               'numerator', CASE WHEN NOT v.masked THEN v.num END,
               'denominator', CASE WHEN NOT v.masked THEN v.den END,
               'neutralised_communes', v.neut_codes,
               'neutralised_rate', round(100.0 * v.n_neut / v_n, 1),
               'comparisons', cmp.comparisons,
               'source', coalesce(ds.label, 'Source non chargée'),
               'period', coalesce(ds.vintage, 'non renseignée'),
               'is_demo', coalesce(ds.is_demo, false))
    FROM ref.indicators i
    JOIN val v ON v.id = i.id
    JOIN cmp ON cmp.fig = i.id
    -- Every cell of an indicator comes from one file: read its source on the first commune through the
    -- (commune_code, indicator_id) key, and scan only if that commune lacks the indicator.
    LEFT JOIN LATERAL (SELECT coalesce(
                           (SELECT h.source FROM health.indicator_counts h
                            WHERE h.commune_code = v_first AND h.indicator_id = i.id),
                           (SELECT h.source FROM health.indicator_counts h WHERE h.indicator_id = i.id LIMIT 1))
                       AS source) hs ON true
    LEFT JOIN ref.data_sources ds ON ds.source = hs.source;
END
$$;


CREATE OR REPLACE FUNCTION api._population(p_codes text[], p_sel api.sel_commune[], p_indicators json)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_population bigint;
    v_empty boolean;
    v_unknown boolean;   -- a commune without INSEE population (Mayotte): « population non disponible »
    v_result json;
BEGIN
    SELECT coalesce(sum(s.population), 0), coalesce(bool_and(coalesce(s.population, -1) = 0), false),
           coalesce(bool_or(s.population IS NULL), false)
    INTO v_population, v_empty, v_unknown FROM unnest(p_sel) s;

    WITH sel AS MATERIALIZED (
        -- A commune's five bands are kept or neutralised together, on its own data (V0100
        -- stats.commune_age_kept: at least 50 consumers and every band at least 11): every territory band is
        -- then a sum of kept cells, and no band can be recovered by difference between two selections.
        SELECT s.code COLLATE "C" AS code, s.dep COLLATE "C" AS dep, s.reg COLLATE "C" AS reg,
               coalesce(s.population, 0)::numeric AS pop, s.ord, coalesce(k.kept, false) AS counted,
               coalesce(k.consumers, 0) AS consumers, k.bands
        FROM unnest(p_sel) s
        LEFT JOIN stats.commune_age_kept k ON k.commune_code = s.code
    ), bands(band, ord, label) AS (
        VALUES ('0-17', 1, 'Moins de 18 ans'), ('18-39', 2, '18 à 39 ans'), ('40-64', 3, '40 à 64 ans'),
               ('65-79', 4, '65 à 79 ans'), ('80+', 5, '80 ans et plus')
    ), cnt AS (
        SELECT b.band, b.ord, b.label,
               coalesce(sum((s.bands ->> b.band)::integer) FILTER (WHERE s.counted), 0) AS n
        FROM bands b CROSS JOIN sel s
        GROUP BY b.band, b.ord, b.label
    ), total AS (
        SELECT sum(c.n) AS n, sum(c.n) < 11 AS masked FROM cnt c
    ), masked AS (
        SELECT c.*, t.masked,
               CASE WHEN NOT t.masked THEN NULL
                    WHEN v_empty THEN 'Sans objet : aucun habitant sur le territoire (population INSEE nulle)'
                    ELSE 'Secret statistique : aucune commune ne compte au moins 50 consommateurs et 11 '
                         || 'consommateurs dans chaque tranche d''âge' END AS reason,
               t.n AS total_n
        FROM cnt c CROSS JOIN total t
    ), allowed AS (
        -- Rule 5: comparisons only for a territory of at least 11 inhabitants (and a published total).
        -- An unknown population is not a small one: it does not block the comparison.
        SELECT (v_population >= 11 OR v_unknown) AND NOT t.masked AS ok FROM total t
    ), w AS (
        SELECT b.band AS fig, x.level, x.unit_code,
               coalesce(sum(s.consumers) FILTER (WHERE s.counted), 0)::numeric AS w, sum(s.pop) AS pop,
               count(*)::integer AS ncom
        FROM bands b CROSS JOIN sel s
        CROSS JOIN LATERAL (VALUES ('departement', s.dep), ('region', s.reg), ('france', 'FR')) x(level, unit_code)
        GROUP BY b.band, x.level, x.unit_code
    ), reftot AS (
        SELECT r.level, r.unit_code, sum(r.n) AS n FROM stats.reference_age_bands_kept r
        WHERE (r.level, r.unit_code) IN (SELECT DISTINCT w.level, w.unit_code FROM w)
        GROUP BY r.level, r.unit_code
    ), r AS (
        SELECT r.age_band AS fig, r.level, r.unit_code,
               CASE WHEN r.n >= 11 THEN 100.0 * r.n / nullif(t.n, 0) END AS value
        FROM stats.reference_age_bands_kept r
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
                          'share', v.share, 'masked', v.masked AND NOT v_empty,
                          'status', CASE WHEN NOT v.masked THEN 'publie' WHEN v_empty THEN 'sans_objet'
                                         ELSE 'secret' END,
                          'reason', v.reason,
                          'comparisons', CASE WHEN (SELECT ok FROM allowed) THEN c.comparisons END)
                          ORDER BY v.ord)
                      FROM vals v LEFT JOIN cmp c ON c.fig = v.band),
        'age_total', (SELECT CASE WHEN NOT t.masked THEN t.n END FROM total t),
        'age_neutralised_communes', coalesce((SELECT array_agg(s.code ORDER BY s.ord) FROM sel s
                                              WHERE NOT s.counted), '{}'),
        'age_comparison', (SELECT ok FROM allowed),
        'indicators', coalesce(p_indicators, '[]'::json),
        'age_comparison_reason', CASE
            WHEN v_population < 11 AND NOT v_unknown
                 THEN 'Comparaison non disponible : le territoire compte moins de 11 habitants'
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


CREATE OR REPLACE FUNCTION api._demography(p_codes text[])
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
    WITH cnt AS (
        -- Ages are decided per commune (V0100 stats.commune_demography_kept: 60+, 65+, under 60 and 60-64
        -- each at least 5): the territory's 60+ and 65+ are sums over the communes whose ages are kept, out
        -- of their professionals (`ages_n`), and a commune's ages never come back by difference.
        SELECT k.key, k.label, k.family, k.is_business, k.parent_key, k.ordinal,
               coalesce(sum(d.n), 0)::integer AS n,
               coalesce(sum(d.n) FILTER (WHERE d.ages_kept), 0)::integer AS ages_n,
               coalesce(sum(d.n_60plus) FILTER (WHERE d.ages_kept), 0)::integer AS n60,
               coalesce(sum(d.n_65plus) FILTER (WHERE d.ages_kept), 0)::integer AS n65,
               count(*) FILTER (WHERE d.ages_kept) AS n_kept,
               coalesce(array_agg(d.commune_code ORDER BY array_position(p_codes, d.commune_code::text))
                        FILTER (WHERE NOT d.ages_kept AND d.n > 0), '{}') AS neut
        FROM ref.ps_categories k
        LEFT JOIN stats.commune_demography_kept d ON d.category = k.key AND d.commune_code = ANY(p_codes)
        GROUP BY k.key
    )
    SELECT json_agg(json_build_object(
               'category', c.key, 'label', c.label, 'family', c.family, 'is_business', c.is_business,
               'parent', c.parent_key, 'n', c.n,
               'n_60plus', CASE WHEN NOT c.is_business AND c.n_kept > 0 THEN c.n60 END,
               'n_65plus', CASE WHEN NOT c.is_business AND c.n_kept > 0 THEN c.n65 END,
               'ages_n', CASE WHEN NOT c.is_business AND c.n_kept > 0 THEN c.ages_n END,
               'ages_neutralised_communes', CASE WHEN c.is_business THEN '{}' ELSE c.neut END,
               'ages_partial', NOT c.is_business AND c.n_kept > 0 AND cardinality(c.neut) > 0,
               'ages_masked', c.is_business OR c.n_kept = 0,
               'ages_status', CASE WHEN c.is_business OR c.n = 0 THEN 'sans_objet'
                                   WHEN c.n_kept = 0 THEN 'secret' ELSE 'publie' END,
               'ages_reason', CASE WHEN c.is_business THEN 'Sans objet : seules les officines ou sociétés sont dénombrées'
                                   WHEN c.n = 0 THEN 'Sans objet : aucun professionnel de cette catégorie'
                                   WHEN c.n_kept = 0 THEN 'Secret statistique : aucune commune ne compte au moins '
                                        || '5 professionnels de plus de 60 ans, de plus de 65 ans, de moins de 60 ans '
                                        || 'et de 60 à 64 ans' END)
           ORDER BY c.ordinal)
    FROM cnt c
    );
END
$$;


CREATE OR REPLACE FUNCTION api._activity(p_codes text[], p_sel api.sel_commune[])
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_result json;
BEGIN
    WITH sel AS MATERIALIZED (
        SELECT s.code COLLATE "C" AS code, s.dep COLLATE "C" AS dep, s.reg COLLATE "C" AS reg,
               coalesce(s.population, 0)::numeric AS pop, s.ord
        FROM unnest(p_sel) s
    ), prof AS MATERIALIZED (
        SELECT k.key COLLATE "C" AS profession, k.label, k.ordinal FROM ref.ps_categories k
        WHERE k.key IN (SELECT t.profession FROM ref.act_types t)
    ), act AS MATERIALIZED (
        SELECT a.commune_code COLLATE "C" AS code, a.profession COLLATE "C" AS profession, a.n_ps, a.patients,
               a.counted
        FROM stats.commune_activity_kept a WHERE a.commune_code = ANY(p_codes)
    ), cell AS MATERIALIZED (
        -- Rule 4: a commune counts for a profession only with at least 5 professionals of it, and its
        -- patients and each of its acts at least 11 (V0100 stats.commune_activity_kept). One row per commune
        -- and profession, so nobody is counted twice.
        SELECT f.profession, s.code, s.dep, s.reg, s.pop, s.ord,
               coalesce(a.n_ps, 0) AS n_ps, coalesce(a.patients, 0) AS patients, coalesce(a.counted, false) AS counted
        FROM prof f CROSS JOIN sel s
        LEFT JOIN act a ON a.profession = f.profession AND a.code = s.code
    ), acts AS MATERIALIZED (
        SELECT q.commune_code COLLATE "C" AS code, q.act_type COLLATE "C" AS act_type, q.quantity
        FROM stats.commune_acts q WHERE q.commune_code = ANY(p_codes)
    ), qty AS MATERIALIZED (
        SELECT t.act_type, min(t.profession) AS profession, min(t.label) AS label, min(t.detail) AS detail,
               min(t.ordinal) AS ordinal, coalesce(sum(q.quantity) FILTER (WHERE c.counted), 0) AS quantity
        FROM (SELECT k.key COLLATE "C" AS act_type, k.profession COLLATE "C" AS profession, k.label, k.detail,
                     k.ordinal FROM ref.act_types k) t
        LEFT JOIN acts q ON q.act_type = t.act_type
        LEFT JOIN cell c ON c.code = q.code AND c.profession = t.profession
        GROUP BY t.act_type
    ), tot AS MATERIALIZED (
        SELECT c.profession,
               sum(c.n_ps) AS n_total,
               coalesce(sum(c.n_ps) FILTER (WHERE c.counted), 0) AS n_counted,
               coalesce(sum(c.n_ps) FILTER (WHERE NOT c.counted), 0) AS n_neut,
               coalesce(sum(c.patients) FILTER (WHERE c.counted), 0) AS patients,
               coalesce(array_agg(c.code ORDER BY c.ord) FILTER (WHERE NOT c.counted AND c.n_ps > 0), '{}') AS neut,
               coalesce(array_agg(c.code ORDER BY c.ord) FILTER (WHERE c.n_ps = 0), '{}') AS inactive,
               json_agg(json_build_object('code', c.code, 'n_ps', c.n_ps, 'counted', c.counted) ORDER BY c.ord) AS cells
        FROM cell c GROUP BY c.profession
    ), figs AS MATERIALIZED (
        -- Patients and acts per professional, on counted communes only; masked when none counts (never "0*").
        SELECT t.profession AS fig, t.profession, 'patients'::text AS kind, 0 AS ordinal,
               'Nombre de patients par professionnel'::text AS label,
               'Patientèle totale rapportée au nombre de professionnels des communes retenues'::text AS detail,
               CASE WHEN t.n_counted > 0 AND t.patients >= 11 THEN round(t.patients::numeric / t.n_counted, 1) END
                   AS value
        FROM tot t
        UNION ALL
        SELECT q.act_type, q.profession, 'acts', q.ordinal, q.label, q.detail,
               CASE WHEN t.n_counted > 0 THEN round(q.quantity / t.n_counted, 1) END
        FROM qty q JOIN tot t ON t.profession = q.profession
    ), unit_w AS MATERIALIZED (
        -- Weights depend on the profession only: its counted professionals in each unit.
        SELECT c.profession, x.level, x.unit_code,
               coalesce(sum(c.n_ps) FILTER (WHERE c.counted), 0)::numeric AS w, sum(c.pop) AS pop,
               count(*)::integer AS ncom
        FROM cell c
        CROSS JOIN LATERAL (VALUES ('departement'::text, c.dep), ('region', c.reg), ('france', 'FR')) x(level, unit_code)
        GROUP BY c.profession, x.level, x.unit_code
    ), units AS MATERIALIZED (
        SELECT DISTINCT u.level, u.unit_code FROM unit_w u
    ), r AS (
        SELECT x.profession AS fig, x.level, x.unit_code,
               CASE WHEN x.n_ps >= 5 AND x.patients >= 11 THEN x.patients::numeric / x.n_ps END AS value
        FROM units u JOIN stats.reference_activity_kept x ON x.level = u.level AND x.unit_code = u.unit_code
        UNION ALL
        SELECT x.act_type, x.level, x.unit_code, CASE WHEN x.n_ps >= 5 THEN x.quantity::numeric / x.n_ps END
        FROM units u JOIN stats.reference_acts_kept x ON x.level = u.level AND x.unit_code = u.unit_code
    ), cmp AS MATERIALIZED (
        SELECT * FROM api._comparisons(
            (SELECT array_agg(ROW(f.fig, f.value)::api.cmp_value) FROM figs f),
            (SELECT array_agg(ROW(f.fig, u.level, u.unit_code, u.w, u.pop, u.ncom)::api.cmp_weight)
             FROM figs f JOIN unit_w u ON u.profession = f.profession),
            (SELECT array_agg(ROW(r.fig, r.level, r.unit_code, r.value)::api.cmp_ref) FROM r))
    ), fig_json AS (
        SELECT f.profession, f.kind, f.ordinal,
               json_build_object(
                   'key', f.fig, 'label', f.label, 'detail', f.detail, 'value', f.value,
                   'masked', f.value IS NULL AND t.n_total > 0,
                   'status', CASE WHEN f.value IS NOT NULL THEN 'publie' WHEN t.n_total = 0 THEN 'sans_objet'
                                  ELSE 'secret' END,
                   'reason', CASE WHEN f.value IS NOT NULL THEN NULL
                                  WHEN t.n_total = 0
                                  THEN 'Sans objet : aucun professionnel de cette profession sur le territoire'
                                  WHEN t.n_counted = 0
                                  THEN 'Secret statistique : aucune commune ne compte au moins 5 professionnels de '
                                       || 'cette profession, 11 patients et 11 actes de chaque type'
                                  ELSE 'Secret statistique : effectif inférieur à 11' END,
                   'partial', f.value IS NOT NULL AND t.n_neut > 0,
                   'comparisons', c.comparisons) AS obj
        FROM figs f JOIN tot t ON t.profession = f.profession JOIN cmp c ON c.fig = f.fig
    )
    SELECT json_agg(json_build_object(
               'profession', f.profession, 'label', f.label,
               'communes', t.cells,
               'n_ps_total', t.n_total, 'n_ps_counted', t.n_counted, 'n_ps_neutralised', t.n_neut,
               'neutralised_communes', t.neut, 'inactive_communes', t.inactive,
               'neutralised_rate', CASE WHEN t.n_total > 0 THEN round(100.0 * t.n_neut / t.n_total, 1) ELSE 0 END,
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


COMMENT ON FUNCTION api._demography(text[]) IS
  'Professionals per category with 60+/65+ over the communes whose ages are kept (rule 7, per commune).';


-- The rule texts as printed, for the per-commune rules ------------------------------------------------------------

UPDATE api.secrecy_rules SET text =
   'Pour chaque indicateur, une commune est neutralisée lorsque son numérateur, son dénominateur, leur '
   || 'différence (les personnes du dénominateur hors du numérateur) ou la différence avec un autre effectif '
   || 'publié de la même commune (tranches d''âge, populations emboîtées) est inférieur à 11 : elle est retirée '
   || 'du numérateur et du dénominateur, nommée, et comptée dans le taux de communes neutralisées (communes '
   || 'neutralisées / communes sélectionnées) ; la valeur du territoire est alors partielle et marquée d''un '
   || 'astérisque (*).'
WHERE id = 'neutralisation_11';

UPDATE api.secrecy_rules SET text =
   'Les données d''activité ne retiennent, pour chaque profession, que les communes comptant au moins 5 '
   || 'professionnels de cette profession, 11 patients et 11 actes de chaque type ; les autres sont neutralisées '
   || 'et leurs professionnels décomptés.'
WHERE id = 'activite_5';

UPDATE api.secrecy_rules SET text =
   'La répartition par âge ne retient que les communes dont chaque tranche d''âge compte au moins 11 '
   || 'consommateurs (les autres sont neutralisées et nommées) ; elle n''est comparée que si le territoire '
   || 'compte au moins 11 habitants.'
WHERE id = 'ages_11';

UPDATE api.secrecy_rules SET text =
   'L''âge des professionnels (plus de 60 ans, plus de 65 ans) ne retient, pour chaque catégorie, que les '
   || 'communes comptant au moins 5 professionnels de plus de 60 ans, de plus de 65 ans, de moins de 60 ans et '
   || 'de 60 à 64 ans ; il est sans objet pour les officines, laboratoires et sociétés.'
WHERE id = 'ages_ps_5';

UPDATE api.secrecy_rules SET text =
   'Les valeurs du département, de la région et de la France sont calculées sur les seules communes retenues '
   || 'par ces règles et publiées en taux arrondis, jamais en effectifs ; une valeur de référence dont '
   || 'l''effectif est inférieur à 11 est masquée.'
WHERE id = 'references';

UPDATE api.secrecy_rules SET text =
   'Lorsque le territoire s''étend sur plusieurs départements (ou régions), la valeur de comparaison est la '
   || 'moyenne des valeurs publiées (arrondies) de ces départements, pondérée par les poids publiés : la part du '
   || 'dénominateur publié du territoire dans chacun, arrondie au millième (à défaut, la part de sa population '
   || 'INSEE) ; les poids sont indiqués.'
WHERE id = 'ponderation';


-- ACI size of a territory with a commune of unknown population ------------------------------------------------------

CREATE OR REPLACE FUNCTION api._aci_of(p_population bigint, p_sel api.sel_commune[])
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_missing text := (SELECT string_agg(s.nom || ' (' || s.code || ')', ', ' ORDER BY s.ord)
                       FROM unnest(p_sel) s WHERE s.population IS NULL);
BEGIN
    IF v_missing IS NULL THEN
        RETURN api._aci(p_population);
    END IF;
    -- Without every commune's population the size band is unknown: never computed from a partial sum.
    RETURN (api._aci(p_population)::jsonb || jsonb_build_object(
        'size', NULL, 'size_label', 'Taille non déterminée : population non disponible',
        'near_threshold', false,
        'warning', 'Taille non déterminée : la population INSEE n''est pas disponible pour ' || v_missing
                   || ' ; l''enveloppe dépend de la taille retenue au contrat.',
        'missions', '[]'::jsonb, 'total', NULL, 'amendments', '[]'::jsonb))::json;
END
$$;

COMMENT ON FUNCTION api._aci_of(bigint, api.sel_commune[]) IS
  'ACI of the selection: api._aci, or size « non déterminée » when a commune has no INSEE population.';


CREATE OR REPLACE FUNCTION api._part(p_codes text[], p_ald text[], p_part text)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_sel api.sel_commune[] := api._checked_selection(p_codes);
    v_codes text[] := ARRAY(SELECT s.code FROM unnest(v_sel) s ORDER BY s.ord);
    v_bad text[];
    v_territory record;
    v_result json;
BEGIN
    IF p_part = 'territory' THEN
        SELECT * INTO v_territory FROM api._territory(v_codes, v_sel);
        SELECT json_build_object(
            'data_version', ref.data_version(),
            'demo', coalesce(bool_or(s.is_demo), false),
            'sources', coalesce(json_agg(json_build_object('source', s.source, 'label', s.label, 'block', s.block,
                                                           'vintage', s.vintage, 'is_demo', s.is_demo)
                                         ORDER BY s.block, s.source), '[]'::json),
            'secrecy_rules', (SELECT json_agg(json_build_object('id', r.id, 'text', r.text) ORDER BY r.ordinal)
                              FROM api.secrecy_rules r),
            'territory', v_territory.territory,
            'communes', v_territory.communes,
            'alerts', v_territory.alerts,
            'aci', api._aci_of(v_territory.population, v_sel))
        INTO v_result
        FROM ref.data_sources s;
    ELSIF p_part = 'indicators' THEN
        SELECT array_agg(a ORDER BY a) INTO v_bad FROM unnest(coalesce(p_ald, '{}')) a
        WHERE NOT EXISTS (SELECT 1 FROM ref.indicators i WHERE i.id = a AND i.section = 'prevalence');
        IF v_bad IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'RZ003', MESSAGE = 'unknown ALD indicators', DETAIL = to_json(v_bad)::text;
        END IF;
        WITH ind AS (
            SELECT x.*,
                   CASE WHEN x.section = 'prevalence' AND x.published_numerator IS NOT NULL
                        THEN row_number() OVER (PARTITION BY x.section = 'prevalence' AND x.published_numerator IS NOT NULL
                                                ORDER BY x.published_numerator DESC, x.ordinal) END AS rk
            FROM api._indicators(v_codes, v_sel) x
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
        )
        SELECT json_build_object(
            'data_version', ref.data_version(),
            'population', api._population(v_codes, v_sel, p.population),
            'access', p.access,
            'prevalences', json_build_object(
                'top5', p.top5, 'requested', p.requested,
                'catalogue', (SELECT json_agg(json_build_object('id', i.id, 'label', i.label) ORDER BY i.ordinal)
                              FROM ref.indicators i WHERE i.section = 'prevalence')),
            'prevention', p.prevention,
            'vaccination', p.vaccination)
        INTO v_result
        FROM parts p;
    ELSIF p_part = 'offer' THEN
        v_result := json_build_object('data_version', ref.data_version(), 'offer', api._offer(v_codes, v_sel));
    ELSE
        RAISE EXCEPTION 'unknown diagnosis part %', p_part;
    END IF;
    RETURN v_result;
END
$$;


-- Per-schema default privileges cannot take EXECUTE from PUBLIC: revoke it on the new internal function, as V0020
-- does for its own. rezone_reader keeps EXECUTE on the three entry points only.
REVOKE EXECUTE ON FUNCTION api._aci_of(bigint, api.sel_commune[]) FROM PUBLIC;
