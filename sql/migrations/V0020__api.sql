-- Purpose: the `api` schema through which services read health figures, the NOLOGIN role `rezone_reader`
--          they run as, the statistical-secrecy rules as printed, the dated ACI CPTS financing parameters, and
--          the SECURITY DEFINER functions that aggregate a selection and apply every secrecy rule
--          (docs/methodology.md). `rezone_reader` may only EXECUTE api.diagnosis, api.diagnosis_part and
--          api.summary; it has no privilege on `health` or `stats`, so an unmasked small count cannot leave the
--          database even through a bug.
--          The selection's profiles are read once (`api._checked_selection` returns them as an array of
--          `api.sel_commune`) and every section works from that array. The diagnosis comes in three independent
--          parts ('territory': data version, sources, rules, territory, communes, alerts, ACI; 'indicators':
--          population, access, prevalences, prevention, vaccination; 'offer': demography, activity, structures)
--          that the service computes at the same time on separate connections; `api.diagnosis` is their union.
--          Each part validates the selection and carries the data version, so that the service can refuse
--          parts computed on different loads.
-- Depends on: V0001, V0002, V0003 (the stats views, read by the functions).

-- Function bodies may call functions defined further down; they are checked when first called.
SET LOCAL check_function_bodies = off;

-- Roles are cluster-wide: several databases of one cluster (tests, scratch copies) may run this at once.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'rezone_reader') THEN
        CREATE ROLE rezone_reader NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

COMMENT ON ROLE rezone_reader IS
  'Services run as this role (SET at connection start-up): EXECUTE on api.diagnosis/api.summary only.';


CREATE SCHEMA api;

COMMENT ON SCHEMA api IS
  'Masked outputs: SECURITY DEFINER functions applying every statistical-secrecy rule (docs/methodology.md).';

-- Functions are executable by PUBLIC by default; in `api` only what is granted explicitly may be called.
ALTER DEFAULT PRIVILEGES IN SCHEMA api REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;


-- Secrecy rules as the UI and the report print them ------------------------------------------------------------

CREATE TABLE api.secrecy_rules (
    id       text PRIMARY KEY,
    ordinal  integer NOT NULL UNIQUE,
    text     text NOT NULL
);

COMMENT ON TABLE api.secrecy_rules IS 'Statistical-secrecy rules in French, returned with every diagnosis.';


INSERT INTO api.secrecy_rules (id, ordinal, text) VALUES
  ('consommateurs_50', 1,
   'Les indicateurs calculés sur la population consommante ne retiennent que les communes comptant au moins '
   || '50 consommateurs dans la base de données.'),
  ('neutralisation_11', 2,
   'Pour chaque indicateur, une commune dont le numérateur ou le dénominateur est inférieur à 11 est '
   || 'neutralisée : elle est retirée du numérateur et du dénominateur, nommée, et comptée dans le taux de '
   || 'communes neutralisées (communes neutralisées / communes sélectionnées) ; la valeur du territoire est '
   || 'alors partielle et marquée d''un astérisque (*).'),
  ('territoire_11', 3,
   'Une valeur du territoire dont le numérateur ou le dénominateur est inférieur à 11 n''est pas publiée '
   || '(secret statistique) ; elle n''est jamais affichée comme 0.'),
  ('activite_5', 4,
   'Les données d''activité ne retiennent, pour chaque profession, que les communes comptant au moins 5 '
   || 'professionnels de cette profession ; les autres sont neutralisées et leurs professionnels décomptés.'),
  ('ages_11', 5,
   'La répartition par âge n''est comparée que si le territoire compte au moins 11 habitants ; une tranche '
   || 'd''âge de moins de 11 personnes est masquée, ainsi qu''une seconde tranche lorsque la première pourrait '
   || 'être retrouvée par différence.'),
  ('difference', 6,
   'Une commune neutralisée ne contribue à aucune valeur publiée : ajouter ou retirer une commune neutralisée '
   || 'ne change pas la valeur publiée de l''indicateur.'),
  ('ages_ps_5', 7,
   'L''âge des professionnels (plus de 60 ans, plus de 65 ans) n''est publié que pour une catégorie d''au '
   || 'moins 5 professionnels ; il est sans objet pour les officines, laboratoires et sociétés.'),
  ('references', 8,
   'Les valeurs du département, de la région et de la France sont publiées en taux arrondis, jamais en '
   || 'effectifs ; une valeur de référence dont l''effectif est inférieur à 11 est masquée.'),
  ('arrondis', 9,
   'Les taux et ratios sont arrondis à une décimale ; les écarts sont calculés en points sur les valeurs '
   || 'arrondies.'),
  ('ponderation', 10,
   'Lorsque le territoire s''étend sur plusieurs départements (ou régions), la valeur de comparaison est la '
   || 'moyenne des valeurs de ces départements pondérée par le dénominateur publié du territoire dans chacun '
   || '(à défaut, par sa population INSEE) ; les poids sont indiqués.');


-- ACI CPTS financing: dated parameters, so that an avenant is added as data --------------------------------------

CREATE TABLE api.aci_sizes (
    size        integer PRIMARY KEY CHECK (size BETWEEN 1 AND 4),
    min_pop     integer NOT NULL,
    max_pop     integer,               -- exclusive; NULL for the last size
    label       text NOT NULL
);

INSERT INTO api.aci_sizes (size, min_pop, max_pop, label) VALUES
  (1, 0,      40000,  'Taille 1 (moins de 40 000 habitants)'),
  (2, 40000,  80000,  'Taille 2 (de 40 000 à moins de 80 000 habitants)'),
  (3, 80000,  175000, 'Taille 3 (de 80 000 à moins de 175 000 habitants)'),
  (4, 175000, NULL,   'Taille 4 (175 000 habitants et plus)');


CREATE TABLE api.aci_missions (
    mission   text PRIMARY KEY,
    label     text NOT NULL,
    optional  boolean NOT NULL,
    ordinal   integer NOT NULL UNIQUE
);

INSERT INTO api.aci_missions (mission, label, optional, ordinal) VALUES
  ('fonctionnement', 'Fonctionnement de la communauté', false, 1),
  ('acces',          'Accès aux soins (médecin traitant et soins non programmés)', false, 2),
  ('parcours',       'Parcours pluriprofessionnels', false, 3),
  ('prevention',     'Prévention', false, 4),
  ('crises',         'Réponse aux crises sanitaires graves', false, 5),
  ('qualite',        'Qualité et pertinence des soins', true, 6),
  ('accompagnement', 'Accompagnement des professionnels de santé sur le territoire', true, 7);


CREATE TABLE api.aci_volets (
    volet    text PRIMARY KEY,
    label    text NOT NULL,
    ordinal  integer NOT NULL UNIQUE
);

INSERT INTO api.aci_volets (volet, label, ordinal) VALUES
  ('total',              'Montant annuel', 1),
  ('fixe',               'Volet fixe (moyens)', 2),
  ('variable',           'Volet variable (actions et résultats)', 3),
  ('snp_compensation',   'Soins non programmés : compensation des professionnels', 4),
  ('snp_specifique',     'Soins non programmés : financement spécifique (régulation, orientation)', 5),
  ('demarrage_majore',   'Financement de démarrage majoré de 75 %', 6),
  ('lettre_intention',   'Versement à la validation de la lettre d''intention', 7),
  ('crise_preparation',  'Préparation et mise à jour du plan de crise (part fixe)', 8),
  ('crise_declenchee',   'Crise reconnue par l''ARS (part déclenchée)', 9);


CREATE TABLE api.aci_parameters (
    instrument  text NOT NULL,          -- 'ACI 2019', 'Avenant 2', …
    valid_from  date NOT NULL,
    mission     text NOT NULL REFERENCES api.aci_missions(mission),
    volet       text NOT NULL REFERENCES api.aci_volets(volet),
    size        integer NOT NULL REFERENCES api.aci_sizes(size),
    amount      integer CHECK (amount >= 0),   -- annual maximum in euros; NULL when unknown for this size
    verified    boolean NOT NULL,
    note        text,
    PRIMARY KEY (instrument, mission, volet, size)
);

COMMENT ON TABLE api.aci_parameters IS
  'ACI CPTS amounts by instrument, date, mission, volet and size; verified = checked against a primary text.';


-- ACI of 20 June 2019 (arrêté of 21 August 2019, in force 25 August 2019): seed 004 and the press totals agree.
INSERT INTO api.aci_parameters (instrument, valid_from, mission, volet, size, amount, verified)
SELECT 'ACI 2019', DATE '2019-08-25', m, v, s, a, true
FROM (VALUES
  ('fonctionnement', 'total',            ARRAY[50000, 60000, 75000, 90000]),
  ('acces',          'fixe',             ARRAY[15000, 17500, 25000, 30000]),
  ('acces',          'variable',         ARRAY[15000, 17500, 25000, 30000]),
  ('acces',          'snp_compensation', ARRAY[10000, 12000, 15000, 20000]),
  ('acces',          'snp_specifique',   ARRAY[35000, 45000, 55000, 70000]),
  ('parcours',       'fixe',             ARRAY[25000, 35000, 45000, 50000]),
  ('parcours',       'variable',         ARRAY[25000, 35000, 45000, 50000]),
  ('prevention',     'fixe',             ARRAY[10000, 15000, 17500, 20000]),
  ('prevention',     'variable',         ARRAY[10000, 15000, 17500, 20000]),
  ('qualite',        'fixe',             ARRAY[7500, 10000, 15000, 20000]),
  ('qualite',        'variable',         ARRAY[7500, 10000, 15000, 20000]),
  ('accompagnement', 'fixe',             ARRAY[5000, 7500, 10000, 15000]),
  ('accompagnement', 'variable',         ARRAY[5000, 7500, 10000, 15000])
) AS t(m, v, amounts)
CROSS JOIN LATERAL unnest(t.amounts) WITH ORDINALITY AS u(a, s);


-- Avenant 2 (signed 20 December 2021). Amounts from secondary sources only: flagged unverified until checked
-- against the Journal officiel. The crisis mission is attested for size 3 only (a real year-5 contract).
INSERT INTO api.aci_parameters (instrument, valid_from, mission, volet, size, amount, verified, note)
SELECT 'Avenant 2', DATE '2021-12-20', m, v, s, a, false, n
FROM (VALUES
  ('fonctionnement', 'demarrage_majore', ARRAY[87500, 105000, 131250, 157500],
   ARRAY['Fonctionnement 2019 majoré de 75 % pour les CPTS signataires avant le 31/12/2021 ; source presse, à vérifier au JO',
         'Fonctionnement 2019 majoré de 75 % pour les CPTS signataires avant le 31/12/2021 ; source presse, à vérifier au JO',
         'Fonctionnement 2019 majoré de 75 % pour les CPTS signataires avant le 31/12/2021 ; source presse, à vérifier au JO',
         'Fonctionnement 2019 majoré de 75 % pour les CPTS signataires avant le 31/12/2021 ; source presse, à vérifier au JO']),
  ('fonctionnement', 'lettre_intention', ARRAY[15000, 17500, 20000, 25000],
   ARRAY['Versé à la validation de la lettre d''intention ; source presse, à vérifier au JO',
         'Versé à la validation de la lettre d''intention ; source presse, à vérifier au JO',
         'Les projets publiés indiquent 20 000 ou 25 000 € ; montant le plus bas retenu, à vérifier au JO',
         'Les projets publiés indiquent 25 000 ou 30 000 € ; montant le plus bas retenu, à vérifier au JO']),
  ('crises', 'crise_preparation', ARRAY[NULL, NULL, 22500, NULL]::integer[],
   ARRAY['Montant non connu pour la taille 1', 'Montant non connu pour la taille 2',
         'Attesté par un contrat réel de taille 3 (2026-2027), non vérifié au JO', 'Montant non connu pour la taille 4']),
  ('crises', 'crise_declenchee', ARRAY[NULL, NULL, 67500, NULL]::integer[],
   ARRAY['Montant non connu pour la taille 1', 'Montant non connu pour la taille 2',
         'Attesté par un contrat réel de taille 3 (2026-2027), non vérifié au JO', 'Montant non connu pour la taille 4'])
) AS t(m, v, amounts, notes)
CROSS JOIN LATERAL unnest(t.amounts, t.notes) WITH ORDINALITY AS u(a, n, s);


-- Composite types through which every section hands its figures to the one comparison routine.
CREATE TYPE api.cmp_value AS (fig text, value numeric);

COMMENT ON TYPE api.cmp_value IS 'A territory figure, already rounded; NULL value = masked.';

CREATE TYPE api.cmp_weight AS (fig text, level text, unit_code text, w numeric, pop numeric, ncom integer);

COMMENT ON TYPE api.cmp_weight IS
  'Territory''s published denominator (w), INSEE population and commune count in one comparison unit.';

CREATE TYPE api.cmp_ref AS (fig text, level text, unit_code text, value numeric);

COMMENT ON TYPE api.cmp_ref IS 'Reference value of a unit, unrounded; NULL = masked at that level.';


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

CREATE INDEX IF NOT EXISTS reference_indicators_unit_idx ON stats.reference_indicators (level, unit_code);

CREATE INDEX IF NOT EXISTS reference_age_bands_unit_idx ON stats.reference_age_bands (level, unit_code);

CREATE INDEX IF NOT EXISTS reference_activity_unit_idx ON stats.reference_activity (level, unit_code);

CREATE INDEX IF NOT EXISTS reference_acts_unit_idx ON stats.reference_acts (level, unit_code);

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
), per_level AS (
    SELECT j.fig, j.level, max(j.nunits) > 1 AS weighted,
           -- A weighted mean over a masked unit would let its value be solved for: no comparator then.
           CASE WHEN bool_and(j.value IS NOT NULL OR j.wt = 0) AND max(j.swt) > 0
                THEN round(sum(j.wt * coalesce(j.value, 0)) / max(j.swt), 1) END AS cval,
           json_agg(json_build_object(
               'code', j.unit_code, 'nom', n.nom,
               'weight', round(j.wt / nullif(j.swt, 0), 3),
               'value', round(j.value, 1)) ORDER BY j.unit_code) AS weights
    FROM j JOIN names n ON n.level = j.level AND n.unit_code = j.unit_code
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


COMMENT ON FUNCTION api._comparisons(api.cmp_value[], api.cmp_weight[], api.cmp_ref[]) IS
  'Département/région/France comparators: mean of unit values weighted by the territory''s published '
  'denominator in each unit (population when masked); difference in points on rounded values.';

CREATE TYPE api.sel_commune AS (
    code text, ord integer, nom text, dep text, reg text, population integer, qpv_codes text[], zonage text,
    cpts_id integer, cpts_nom text, cpts_statut text, consumers integer, no_contour boolean,
    geom public.geometry, search_key text);

COMMENT ON TYPE api.sel_commune IS 'One selected commune''s profile; ord = its position in table order.';


CREATE FUNCTION api._checked_selection(p_codes text[])
RETURNS api.sel_commune[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_sel api.sel_commune[];
    v_unknown text[];
BEGIN
    IF coalesce(cardinality(p_codes), 0) = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'RZ002', MESSAGE = 'empty selection', DETAIL = '[]';
    END IF;
    -- Read each commune's profile once; every section works from this array. Table order: by département, then
    -- name; every list of codes in the output follows it.
    SELECT array_agg(ROW(x.code, x.ord, x.nom, x.dep, x.reg, x.population, x.qpv_codes, x.zonage, x.cpts_id,
                         x.cpts_nom, x.cpts_statut, x.consumers, x.no_contour, x.geom, x.search_key)::api.sel_commune
                     ORDER BY x.ord)
    INTO v_sel
    FROM (SELECT p.commune_code AS code,
                 row_number() OVER (ORDER BY p.departement_code, p.nom, p.commune_code)::integer AS ord,
                 p.nom, p.departement_code AS dep, p.region_code AS reg, p.population, p.qpv_codes, p.zonage,
                 p.cpts_id, p.cpts_nom, p.cpts_statut, p.consumers, p.contour_status = 'missing' AS no_contour,
                 c.geom, c.search_key
          FROM (SELECT DISTINCT u.code FROM unnest(p_codes) u(code)) o
          JOIN stats.commune_profile p ON p.commune_code = o.code
          JOIN ref.communes c ON c.code = o.code) x;
    IF coalesce(cardinality(v_sel), 0) < (SELECT count(DISTINCT u) FROM unnest(p_codes) u) THEN
        SELECT array_agg(DISTINCT c ORDER BY c) INTO v_unknown
        FROM unnest(p_codes) c
        WHERE NOT EXISTS (SELECT 1 FROM stats.commune_profile p WHERE p.commune_code = c);
        RAISE EXCEPTION USING ERRCODE = 'RZ001', MESSAGE = 'unknown communes', DETAIL = to_json(v_unknown)::text;
    END IF;
    RETURN v_sel;
END
$$;

COMMENT ON FUNCTION api._checked_selection(text[]) IS
  'The selection''s profiles in table order, or RZ001 (unknown communes) / RZ002 (empty selection).';


CREATE FUNCTION api._territory(p_codes text[], p_sel api.sel_commune[])
RETURNS TABLE (territory json, communes json, alerts json, population bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    RETURN QUERY
    WITH sel AS MATERIALIZED (
        SELECT s.code COLLATE "C" AS code, s.nom, s.dep COLLATE "C" AS dep, s.reg COLLATE "C" AS reg, s.population,
               s.qpv_codes, s.zonage, s.cpts_id, s.cpts_nom, s.cpts_statut, s.ord,
               s.population IS NULL AS no_population, s.no_contour, s.dep = '976' AS mayotte, s.geom,
               s.search_key COLLATE "C" AS search_key
        FROM unnest(p_sel) s
    ), deps AS MATERIALIZED (
        SELECT s.dep AS code, min(d.nom) AS nom, array_agg(s.code ORDER BY s.ord) AS communes,
               coalesce(sum(s.population), 0) AS population, min(s.ord) AS ord
        FROM sel s JOIN ref.departements d ON d.code = s.dep GROUP BY s.dep
    ), regs AS MATERIALIZED (
        SELECT s.reg AS code, min(r.nom) AS nom, array_agg(s.code ORDER BY s.ord) AS communes,
               coalesce(sum(s.population), 0) AS population, min(s.ord) AS ord
        FROM sel s JOIN ref.regions r ON r.code = s.reg GROUP BY s.reg
    ), qpv AS MATERIALIZED (
        SELECT DISTINCT q.code COLLATE "C" AS code FROM sel s CROSS JOIN LATERAL unnest(s.qpv_codes) q(code)
    ), geo AS MATERIALIZED (
        -- Contiguity: communes sharing at least a point are neighbours (the contours are topologically clean).
        SELECT s.code, s.ord, ST_ClusterDBSCAN(s.geom, 0, 1) OVER () AS cluster
        FROM sel s WHERE s.geom IS NOT NULL
    ), clusters AS MATERIALIZED (
        SELECT g.cluster, count(*) AS n, min(g.ord) AS first FROM geo g GROUP BY g.cluster
    ), main_cluster AS (
        SELECT c.cluster FROM clusters c ORDER BY c.n DESC, c.first LIMIT 1
    ), homonyms AS MATERIALIZED (
        SELECT s.search_key, array_agg(s.code ORDER BY s.ord) AS codes,
               min(s.nom) || ' (' || string_agg(s.code || ', ' || d.nom, ' ; ' ORDER BY s.ord) || ')' AS txt,
               min(s.ord) AS ord
        FROM sel s JOIN ref.departements d ON d.code = s.dep
        GROUP BY s.search_key HAVING count(*) > 1
    ), partial AS (
        SELECT s.code, s.ord, s.nom || ' (' || s.code || ' : '
               || concat_ws(', ', CASE WHEN s.no_population THEN 'population INSEE absente' END,
                                  CASE WHEN s.no_contour THEN 'contour absent' END,
                                  CASE WHEN s.mayotte THEN 'données de santé incomplètes à Mayotte' END) || ')' AS txt
        FROM sel s WHERE s.no_population OR s.no_contour OR s.mayotte
    ), alert_rows AS (
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
    ), totals AS (
        SELECT count(*) AS n, coalesce(sum(s.population), 0)::bigint AS population,
               coalesce(bool_or(s.no_population), false) AS population_partial,
               coalesce(sum(cardinality(s.qpv_codes)), 0) AS qpv_sum,
               count(*) FILTER (WHERE s.zonage IS NOT NULL) AS zonage_count,
               count(*) FILTER (WHERE s.zonage = 'ZIP') AS zip_count,
               count(*) FILTER (WHERE s.zonage = 'ZAC') AS zac_count,
               json_agg(json_build_object(
                   'code', s.code, 'nom', s.nom, 'departement', s.dep, 'region', s.reg,
                   'population', s.population, 'qpv', s.qpv_codes, 'qpv_count', cardinality(s.qpv_codes),
                   'zonage', s.zonage,
                   'cpts', CASE WHEN s.cpts_id IS NOT NULL
                                THEN json_build_object('id', s.cpts_id, 'nom', s.cpts_nom, 'statut', s.cpts_statut) END,
                   'partial', s.no_population OR s.no_contour OR s.mayotte) ORDER BY s.ord) AS communes
        FROM sel s
    )
    SELECT json_build_object(
               'commune_count', t.n,
               'population', t.population,
               'population_partial', t.population_partial,
               'departements', (SELECT json_agg(json_build_object('code', d.code, 'nom', d.nom, 'communes', d.communes,
                                                                  'population', d.population) ORDER BY d.ord) FROM deps d),
               'regions', (SELECT json_agg(json_build_object('code', r.code, 'nom', r.nom, 'communes', r.communes,
                                                             'population', r.population) ORDER BY r.ord) FROM regs r),
               'qpv_count', (SELECT count(*) FROM qpv),
               'qpv_codes', coalesce((SELECT array_agg(q.code ORDER BY q.code) FROM qpv q), '{}'),
               'qpv_commune_sum', t.qpv_sum,
               'zonage_count', t.zonage_count,
               'zip_count', t.zip_count,
               'zac_count', t.zac_count),
           t.communes,
           coalesce((SELECT json_agg(json_build_object('code', a.code, 'message', a.message,
                                                       'communes', a.communes) ORDER BY a.ord) FROM alert_rows a),
                    '[]'::json),
           t.population
    FROM totals t;
END
$$;


CREATE FUNCTION api._indicators(p_codes text[], p_sel api.sel_commune[])
RETURNS TABLE (id text, section text, ordinal integer, published_numerator bigint, obj json)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_n integer := cardinality(p_codes);
    v_first text := (SELECT min(h.commune_code) FROM health.indicator_counts h);
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


CREATE FUNCTION api._population(p_codes text[], p_sel api.sel_commune[], p_indicators json)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_population bigint;
    v_result json;
BEGIN
    SELECT coalesce(sum(s.population), 0) INTO v_population FROM unnest(p_sel) s;

    WITH sel AS MATERIALIZED (
        SELECT s.code COLLATE "C" AS code, s.dep COLLATE "C" AS dep, s.reg COLLATE "C" AS reg,
               coalesce(s.population, 0)::numeric AS pop, s.consumers, s.ord,
               s.consumers >= 50 AS counted          -- rule 1
        FROM unnest(p_sel) s
    ), ages AS MATERIALIZED (
        SELECT a.commune_code COLLATE "C" AS code, a.age_band COLLATE "C" AS age_band, a.n
        FROM stats.commune_age_bands a WHERE a.commune_code = ANY(p_codes)
    ), bands(band, ord, label) AS (
        VALUES ('0-17', 1, 'Moins de 18 ans'), ('18-39', 2, '18 à 39 ans'), ('40-64', 3, '40 à 64 ans'),
               ('65-79', 4, '65 à 79 ans'), ('80+', 5, '80 ans et plus')
    ), cnt AS (
        SELECT b.band, b.ord, b.label, coalesce(sum(a.n), 0) AS n
        FROM bands b
        LEFT JOIN (ages a JOIN sel s ON s.code = a.code AND s.counted) ON a.age_band = b.band
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


CREATE FUNCTION api._activity(p_codes text[], p_sel api.sel_commune[])
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
        SELECT a.commune_code COLLATE "C" AS code, a.profession COLLATE "C" AS profession, a.n_ps, a.patients
        FROM stats.commune_activity a WHERE a.commune_code = ANY(p_codes)
    ), cell AS MATERIALIZED (
        -- Rule 4: a commune counts for a profession only with at least 5 professionals of it. One row per
        -- commune and profession, so nobody is counted twice.
        SELECT f.profession, s.code, s.dep, s.reg, s.pop, s.ord,
               coalesce(a.n_ps, 0) AS n_ps, coalesce(a.patients, 0) AS patients, coalesce(a.n_ps, 0) >= 5 AS counted
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
        FROM units u JOIN stats.reference_activity x ON x.level = u.level AND x.unit_code = u.unit_code
        UNION ALL
        SELECT x.act_type, x.level, x.unit_code, CASE WHEN x.n_ps >= 5 THEN x.quantity::numeric / x.n_ps END
        FROM units u JOIN stats.reference_acts x ON x.level = u.level AND x.unit_code = u.unit_code
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
                   'masked', f.value IS NULL,
                   'reason', CASE WHEN f.value IS NULL AND t.n_counted = 0
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


CREATE FUNCTION api._structures(p_codes text[], p_sel api.sel_commune[])
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
        VALUES ('medical_polyvalent' COLLATE "C", 'Centres de santé médicaux et polyvalents', 1),
               ('dentaire', 'Centres de santé dentaires', 2),
               ('infirmier', 'Centres de santé infirmiers', 3),
               ('non_type', 'Centres de santé non typés (e-CDS ATIH)', 4)
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


CREATE FUNCTION api._offer(p_codes text[], p_sel api.sel_commune[])
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
        'activity', api._activity(p_codes, p_sel),
        'activity_source', coalesce(v_act.label, 'Source non chargée'),
        'activity_period', coalesce(v_act.vintage, 'non renseignée'),
        'structures', v_structures,
        'centres_de_sante', v_cds,
        'structures_source', coalesce(v_fin.label, 'Source non chargée'),
        'structures_period', coalesce(v_fin.vintage, 'non renseignée'));
END
$$;


CREATE OR REPLACE FUNCTION api.summary(p_codes text[])
RETURNS json
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_sel api.sel_commune[] := api._checked_selection(p_codes);
    v_codes text[] := ARRAY(SELECT s.code FROM unnest(v_sel) s);
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
        'population', (SELECT coalesce(sum(s.population), 0) FROM unnest(v_sel) s),
        'population_partial', (SELECT bool_or(s.population IS NULL) FROM unnest(v_sel) s),
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


COMMENT ON FUNCTION api._territory(text[], api.sel_commune[]) IS
  'Territory totals (distinct QPV, zonage k sur N), communes and alerts (CPTS, multi-unit, contiguity, homonyms within '
  'the selection, partial data).';

COMMENT ON FUNCTION api._indicators(text[], api.sel_commune[]) IS
  'Every consumer-based indicator of the selection after rules 1, 2, 3 and 6, as Indicator JSON objects.';

COMMENT ON FUNCTION api._population(text[], api.sel_commune[], json) IS
  'Age bands of consumers (rules 1, 3 with secondary suppression, 5) with weighted comparisons.';

COMMENT ON FUNCTION api._activity(text[], api.sel_commune[]) IS
  'Activity per profession: per-commune professionals, rule 4 neutralisation, patients and acts per professional.';

COMMENT ON FUNCTION api._structures(text[], api.sel_commune[]) IS
  'FINESS geographic entities per group and centres de santé by type.';

COMMENT ON FUNCTION api._offer(text[], api.sel_commune[]) IS 'Offer of care section of the diagnosis.';

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

COMMENT ON FUNCTION api.diagnosis(text[], text[]) IS
  'The masked territorial diagnosis of a selection of communes (contract: services/common/contract.py Diagnosis).';

REVOKE ALL ON SCHEMA api FROM PUBLIC;

GRANT USAGE ON SCHEMA api TO rezone_reader;

GRANT EXECUTE ON FUNCTION api.diagnosis(text[], text[]), api.summary(text[]) TO rezone_reader;


REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA api FROM PUBLIC;

GRANT EXECUTE ON FUNCTION api.diagnosis(text[], text[]), api.diagnosis_part(text[], text[], text),
                          api.summary(text[]) TO rezone_reader;
