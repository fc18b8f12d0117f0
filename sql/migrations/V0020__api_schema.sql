-- Purpose: the `api` schema through which services read health figures, the NOLOGIN role `rezone_reader`
--          they run as, the statistical-secrecy rules as printed, and the dated ACI CPTS financing parameters.
--          `rezone_reader` may only EXECUTE the public functions of `api` (V0021); it has no privilege on
--          `health` or `stats`, so an unmasked small count cannot leave the database even through a bug.
-- Depends on: V0001, V0002, V0003 (only through the functions of V0021).

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
REVOKE ALL ON SCHEMA api FROM PUBLIC;
GRANT USAGE ON SCHEMA api TO rezone_reader;
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

-- Composite types through which every section hands its figures to the one comparison routine (V0021).
CREATE TYPE api.cmp_value AS (fig text, value numeric);
COMMENT ON TYPE api.cmp_value IS 'A territory figure, already rounded; NULL value = masked.';
CREATE TYPE api.cmp_weight AS (fig text, level text, unit_code text, w numeric, pop numeric, ncom integer);
COMMENT ON TYPE api.cmp_weight IS
  'Territory''s published denominator (w), INSEE population and commune count in one comparison unit.';
CREATE TYPE api.cmp_ref AS (fig text, level text, unit_code text, value numeric);
COMMENT ON TYPE api.cmp_ref IS 'Reference value of a unit, unrounded; NULL = masked at that level.';
