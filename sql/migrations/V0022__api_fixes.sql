-- Purpose: fixes to the secrecy engine of V0021 (functions re-created, same signatures and privileges):
--          activity ratios of a profession without any neutralised commune carried a null 'partial'.
-- Depends on: V0021.

CREATE OR REPLACE FUNCTION api._activity(p_codes text[])
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
                   'partial', f.value IS NOT NULL AND coalesce(t.n_neut, 0) > 0,
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

-- CREATE OR REPLACE keeps each function's privileges; new ones get none (V0020 default privileges).
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA api FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.diagnosis(text[], text[]), api.summary(text[]) TO rezone_reader;
