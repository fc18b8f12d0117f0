-- Purpose: the diagnosis in three independent parts, so that the service can compute them at the same time on
--          separate connections (the machine's cores work in parallel; one query uses one core):
--            'territory'  data version, sources, rules, territory, communes, alerts, ACI;
--            'indicators' population (age bands, ALD, C2S), access, prevalences, prevention, vaccination;
--            'offer'      demography, activity, structures.
--          `api.diagnosis_part` is a second entry point for `rezone_reader`; `api.diagnosis` is now the union of
--          the three parts (one implementation). Each part validates the selection and carries the data version,
--          so that the service can refuse parts computed on different loads.
-- Depends on: V0025.

CREATE FUNCTION api._part(p_codes text[], p_ald text[], p_part text)
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
            'aci', api._aci(v_territory.population))
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
COMMENT ON FUNCTION api._part(text[], text[], text) IS 'One of the three independent parts of the diagnosis.';

CREATE FUNCTION api.diagnosis_part(p_codes text[], p_ald text[], p_part text)
RETURNS json
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
    SELECT api._part(p_codes, p_ald, p_part)
$$;
COMMENT ON FUNCTION api.diagnosis_part(text[], text[], text) IS
  'One part (territory, indicators, offer) of the masked diagnosis; the service runs the three in parallel.';

CREATE OR REPLACE FUNCTION api.diagnosis(p_codes text[], p_ald text[] DEFAULT '{}')
RETURNS json
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- One snapshot for the three parts; the keys of the merged object come out sorted (jsonb).
    RETURN (api._part(p_codes, p_ald, 'territory')::jsonb
            || api._part(p_codes, p_ald, 'indicators')::jsonb
            || api._part(p_codes, p_ald, 'offer')::jsonb)::json;
END
$$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA api FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.diagnosis(text[], text[]), api.diagnosis_part(text[], text[], text),
                          api.summary(text[]) TO rezone_reader;
