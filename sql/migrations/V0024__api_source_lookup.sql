-- Purpose: V0004 re-keyed health.indicator_counts commune first: read each indicator's source through that key
--          (the V0023 lookup assumed an indicator-first key); drop the covering index of V0023, which saved about
--          1 ms per 100-commune diagnosis but cost ~90 MB and seconds at every refresh.
-- Depends on: V0004, V0023.

DROP INDEX IF EXISTS stats.commune_indicators_commune_cover_idx;

CREATE OR REPLACE FUNCTION api._indicators(p_codes text[])
RETURNS TABLE (id text, section text, ordinal integer, published_numerator bigint, obj json)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_n integer := cardinality(p_codes);
    v_first text := (SELECT min(h.commune_code) FROM health.indicator_counts h);
BEGIN
    RETURN QUERY
    WITH sel AS MATERIALIZED (
        -- p_codes comes in table order, so a commune's position is its order everywhere in the output.
        -- Keys in the "C" collation: groupings and orderings are then plain byte comparisons (codes only).
        SELECT p.commune_code COLLATE "C" AS code, p.departement_code COLLATE "C" AS dep,
               p.region_code COLLATE "C" AS reg, coalesce(p.population, 0)::numeric AS pop, o.ord::integer AS ord
        FROM unnest(p_codes) WITH ORDINALITY o(code, ord)
        JOIN stats.commune_profile p ON p.commune_code = o.code
    ), gs AS MATERIALIZED (
        -- Rules 1 and 2 in one pass over the selection's cells, summed per indicator, per département and per
        -- région at once. A commune counts only with at least 50 consumers and a numerator and denominator of
        -- at least 11; every other cell is neutralised and contributes nothing anywhere (rule 6).
        SELECT c.indicator_id COLLATE "C" AS id, s.dep, s.reg, GROUPING(s.dep, s.reg) AS grp,
               sum(c.numerator) FILTER (WHERE x.kept) AS num,
               sum(c.denominator) FILTER (WHERE x.kept) AS den,
               count(*) AS present,
               array_agg(s.ord) FILTER (WHERE NOT x.kept) AS neut
        FROM stats.commune_indicators c
        JOIN sel s ON s.code = c.commune_code
        CROSS JOIN LATERAL (SELECT c.consumers >= 50 AND c.numerator >= 11 AND c.denominator >= 11 AS kept) x
        WHERE c.commune_code = ANY(p_codes)
        GROUP BY GROUPING SETS ((1), (1, s.dep), (1, s.reg))
    ), tot AS (
        SELECT i.id, t.num, t.den,
               -- A commune without any cell for the indicator is neutralised too (rare: no data at all).
               coalesce(t.neut, '{}') || CASE WHEN coalesce(t.present, 0) < v_n THEN ARRAY(
                   SELECT s.ord FROM sel s WHERE NOT EXISTS (
                       SELECT 1 FROM stats.commune_indicators c
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
        JOIN stats.reference_indicators x ON x.level = u.level AND x.unit_code = u.unit_code
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
                              WHEN v.n_neut = v_n THEN 'Secret statistique : toutes les communes sont '
                                   || 'neutralisées (moins de 50 consommateurs ou effectif inférieur à 11)'
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

COMMENT ON FUNCTION api._indicators(text[]) IS
  'Every consumer-based indicator of the selection after rules 1, 2, 3 and 6, as Indicator JSON objects.';
