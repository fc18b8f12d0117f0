-- Purpose: raw health tables (FINESS establishments, professionals and activity, consumer-based indicator
--          counts per commune, zonage, QPV, existing CPTS) and their nomenclatures.
--          Raw counts here are never read by a service role: services read the masked outputs built on top.
-- Depends on: V0001 (ref.communes, ref.data_sources).

CREATE SCHEMA health;
COMMENT ON SCHEMA health IS 'Raw per-commune health counts (SNDS-like, demo or real) and FINESS; unmasked.';

-- Nomenclatures ---------------------------------------------------------------------------------------------

CREATE TABLE ref.finess_groups (
    key          text PRIMARY KEY,
    label        text NOT NULL,
    sector       text NOT NULL CHECK (sector IN ('sanitaire', 'medico-social', 'coordination')),
    coordinated  boolean NOT NULL,   -- coordinated-care structures, shown on the map by default
    ordinal      integer NOT NULL UNIQUE
);
COMMENT ON TABLE ref.finess_groups IS 'Rézone structure groups (map legend, report lines).';

INSERT INTO ref.finess_groups (key, label, sector, coordinated, ordinal) VALUES
  ('ch',        'Centres hospitaliers',                                 'sanitaire',     false, 1),
  ('chr',       'Centres hospitaliers régionaux / universitaires',      'sanitaire',     false, 2),
  ('chr_entite','Entités des centres hospitaliers régionaux / universitaires', 'sanitaire', false, 3),
  ('hl',        'Hôpitaux de proximité (ex-hôpitaux locaux)',           'sanitaire',     false, 4),
  ('hia',       'Hôpitaux des armées',                                  'sanitaire',     false, 5),
  ('clinique',  'Cliniques',                                            'sanitaire',     false, 6),
  ('ssr',       'Établissements de santé privés autorisés en SSR',      'sanitaire',     false, 7),
  ('dialyse',   'Centres de dialyse et alternatives',                   'sanitaire',     false, 8),
  ('had',       'Hospitalisation à domicile (HAD)',                     'sanitaire',     false, 9),
  ('ehpad',     'EHPAD',                                                'medico-social', false, 10),
  ('ssiad',     'SSIAD',                                                'medico-social', false, 11),
  ('msp',       'Maisons de santé pluriprofessionnelles (MSP)',         'coordination',  true,  12),
  ('cds',       'Centres de santé',                                     'coordination',  true,  13),
  ('cpts',      'CPTS (siège)',                                         'coordination',  true,  14);

CREATE TABLE ref.finess_categories (
    categetab  text PRIMARY KEY CHECK (categetab ~ '^[0-9]{3}$'),
    libelle    text NOT NULL,
    group_key  text NOT NULL REFERENCES ref.finess_groups(key)
);
COMMENT ON TABLE ref.finess_categories IS
  'FINESS categetab (ANS TRE_R66) kept by Rézone, with its group; other categories are not loaded.';

-- 'chr_entite' is never a category: it is an ET of a legal entity whose main site is a 101 (see views).
INSERT INTO ref.finess_categories (categetab, libelle, group_key) VALUES
  ('355', 'Centre Hospitalier (C.H.)', 'ch'),
  ('101', 'Centre Hospitalier Régional (C.H.R.)', 'chr'),
  ('106', 'Centre hospitalier, ex Hôpital local', 'hl'),
  ('114', 'Hôpital des armées', 'hia'),
  ('115', 'Etablissement de Soins du Service de Santé des Armées', 'hia'),
  ('365', 'Etablissement de Soins Pluridisciplinaire', 'clinique'),
  ('128', 'Etablissement de Soins Chirurgicaux', 'clinique'),
  ('129', 'Etablissement de Soins Médicaux', 'clinique'),
  ('122', 'Etablissement de Soins Obstétriques Chirurgico-Gynécologiques', 'clinique'),
  ('109', 'Etablissement de santé privé autorisé en SSR', 'ssr'),
  ('141', 'Centre de Dialyse', 'dialyse'),
  ('146', 'Structure d''Alternative à la dialyse en centre', 'dialyse'),
  ('127', 'Hospitalisation à Domicile', 'had'),
  ('500', 'Etablissement d''hébergement pour personnes âgées dépendantes', 'ehpad'),
  ('354', 'Service de Soins Infirmiers A Domicile (S.S.I.A.D)', 'ssiad'),
  ('603', 'Maison de santé (L.6223-3)', 'msp'),
  ('124', 'Centre de Santé', 'cds'),
  ('604', 'Communauté Professionnelle Territoriale de Santé (CPTS)', 'cpts');

CREATE TABLE ref.ps_categories (
    key          text PRIMARY KEY,
    label        text NOT NULL,
    family       text NOT NULL CHECK (family IN ('specialistes', 'auxiliaires', 'pharmacies_labos',
                                                 'fournisseurs_transports')),
    is_business  boolean NOT NULL,   -- counted as businesses: age columns not applicable
    parent_key   text REFERENCES ref.ps_categories(key),   -- "dont MEP" is a subset, never added to totals
    ordinal      integer NOT NULL UNIQUE
);
COMMENT ON TABLE ref.ps_categories IS 'Categories of the demography table; families of the summary bar.';

INSERT INTO ref.ps_categories (key, label, family, is_business, parent_key, ordinal) VALUES
  ('mg',            'Médecins spécialistes en médecine générale', 'specialistes', false, NULL, 1),
  ('mg_mep',        'dont médecins à mode d''exercice particulier (MEP)', 'specialistes', false, 'mg', 2),
  ('specialistes',  'Médecins spécialistes hors médecine générale', 'specialistes', false, NULL, 3),
  ('dentistes',     'Chirurgiens-dentistes', 'specialistes', false, NULL, 4),
  ('sages_femmes',  'Sages-femmes', 'specialistes', false, NULL, 5),
  ('infirmiers',    'Infirmiers', 'auxiliaires', false, NULL, 6),
  ('kines',         'Masseurs-kinésithérapeutes', 'auxiliaires', false, NULL, 7),
  ('orthophonistes','Orthophonistes', 'auxiliaires', false, NULL, 8),
  ('orthoptistes',  'Orthoptistes', 'auxiliaires', false, NULL, 9),
  ('podologues',    'Pédicures-podologues', 'auxiliaires', false, NULL, 10),
  ('pharmacies',    'Pharmacies', 'pharmacies_labos', true, NULL, 11),
  ('laboratoires',  'Laboratoires', 'pharmacies_labos', true, NULL, 12),
  ('fournisseurs',  'Fournisseurs', 'fournisseurs_transports', true, NULL, 13),
  ('transporteurs', 'Transporteurs sanitaires', 'fournisseurs_transports', true, NULL, 14),
  ('taxis',         'Taxis conventionnés', 'fournisseurs_transports', true, NULL, 15);

CREATE TABLE ref.act_types (
    key         text PRIMARY KEY,
    profession  text NOT NULL REFERENCES ref.ps_categories(key),
    label       text NOT NULL,
    detail      text NOT NULL,
    ordinal     integer NOT NULL UNIQUE
);
INSERT INTO ref.act_types (key, profession, label, detail, ordinal) VALUES
  ('CV',    'mg',             'Actes cliniques',  'Consultations + visites', 1),
  ('ATECH', 'mg',             'Actes techniques', 'Chirurgie + échographie + imagerie', 2),
  ('AMI',   'infirmiers',     'AMI',              'Actes médico-infirmiers autres que les AIS', 3),
  ('AIS',   'infirmiers',     'AIS',              'Actes infirmiers de soins', 4),
  ('AMC',   'kines',          'AMC',              'Actes pratiqués dans une structure de soins ou un établissement', 5),
  ('AMK',   'kines',          'AMK',              'Actes pratiqués au cabinet ou au domicile du malade', 6),
  ('AMS',   'kines',          'AMS',              'Actes de rééducation des affections orthopédiques et rhumatologiques', 7),
  ('AMO',   'orthophonistes', 'AMO',              'Actes d''orthophonie', 8),
  ('AMY',   'orthoptistes',   'AMY',              'Actes d''orthoptie', 9);

CREATE TABLE ref.indicators (
    id                 text PRIMARY KEY,
    section            text NOT NULL CHECK (section IN ('population', 'acces', 'prevalence', 'prevention',
                                                        'vaccination')),
    label              text NOT NULL,
    definition         text NOT NULL,
    numerator_label    text NOT NULL,
    denominator_label  text NOT NULL,
    unit               text NOT NULL CHECK (unit IN ('pct', 'per100')),
    source_key         text NOT NULL,   -- 'dcir' | 'atih' | 'dcir_grippe': which source file carries it
    ald_number         integer,
    ordinal            integer NOT NULL UNIQUE
);
COMMENT ON TABLE ref.indicators IS 'Consumer-based indicators: definition, unit and which source feeds them.';

INSERT INTO ref.indicators (id, section, label, definition, numerator_label, denominator_label, unit, source_key, ordinal) VALUES
  ('pop_ald', 'population', 'Part de la population en ALD',
   'Consommateurs de 17 ans et plus ayant une ALD active et au moins un remboursement au titre d''une ALD ou d''une polypathologie dans la période, parmi les consommateurs de 17 ans et plus',
   'Consommateurs 17 ans et plus en ALD', 'Consommateurs 17 ans et plus', 'pct', 'dcir', 1),
  ('pop_c2s', 'population', 'Part de la population bénéficiaire de la C2S',
   'Consommateurs de 17 ans et plus couverts par la complémentaire santé solidaire au moins un jour dans la période, parmi les consommateurs de 17 ans et plus',
   'Consommateurs 17 ans et plus bénéficiaires de la C2S', 'Consommateurs 17 ans et plus', 'pct', 'dcir', 2),
  ('mt_17_sans', 'acces', '17 ans et plus sans médecin traitant',
   'Consommateurs de 17 ans et plus sans médecin traitant déclaré, ou dont le médecin traitant a cessé son activité ou est fictif, parmi les consommateurs de 17 ans et plus',
   'Consommateurs 17 ans et plus sans médecin traitant', 'Consommateurs 17 ans et plus', 'pct', 'dcir', 10),
  ('mt_17_sans_ald', 'acces', '17 ans et plus sans médecin traitant et en ALD',
   'Consommateurs de 17 ans et plus sans médecin traitant et en ALD, parmi l''ensemble des consommateurs de 17 ans et plus',
   'Consommateurs 17 ans et plus sans médecin traitant en ALD', 'Consommateurs 17 ans et plus', 'pct', 'dcir', 11),
  ('mt_17_sans_c2s', 'acces', '17 ans et plus sans médecin traitant et bénéficiaires de la C2S',
   'Consommateurs de 17 ans et plus sans médecin traitant et couverts par la C2S, parmi l''ensemble des consommateurs de 17 ans et plus',
   'Consommateurs 17 ans et plus sans médecin traitant bénéficiaires de la C2S', 'Consommateurs 17 ans et plus', 'pct', 'dcir', 12),
  ('mt_70_sans', 'acces', '70 ans et plus sans médecin traitant',
   'Consommateurs de 70 ans et plus sans médecin traitant, parmi les consommateurs de 70 ans et plus',
   'Consommateurs 70 ans et plus sans médecin traitant', 'Consommateurs 70 ans et plus', 'pct', 'dcir', 13),
  ('urgences', 'acces', 'Passages aux urgences non suivis d''hospitalisation (pour 100 consommateurs)',
   'Passages aux urgences non suivis d''une hospitalisation (forfait patient urgences, ex-ATU), pour 100 consommateurs de 17 ans et plus',
   'Passages aux urgences non suivis d''hospitalisation', 'Consommateurs 17 ans et plus', 'per100', 'atih', 14),
  ('admissions_directes', 'acces', 'Admissions directes en service de médecine',
   'Admissions directes en service de médecine à la demande d''un médecin de ville, parmi les hospitalisations dans ces services',
   'Admissions directes en médecine', 'Hospitalisations en service de médecine', 'pct', 'atih', 15),
  ('polymedication', 'prevention', 'Polymédication continue',
   'Consommateurs de 65 ans et plus ayant eu au moins 10 molécules distinctes (ATC 7) délivrées 3 fois dans l''année, parmi les consommateurs de 65 ans et plus',
   'Consommateurs 65 ans et plus polymédiqués', 'Consommateurs 65 ans et plus', 'pct', 'dcir', 100),
  ('psychotropes', 'prevention', 'Traitement par psychotropes (plus de 75 ans)',
   'Patients de plus de 75 ans hors ALD 23 ayant eu au moins 2 psychotropes (hors anxiolytiques) de 2 classes ATC différentes prescrits le même jour, parmi les patients de plus de 75 ans hors ALD 23',
   'Patients de plus de 75 ans avec au moins 2 psychotropes', 'Patients de plus de 75 ans hors ALD 23', 'pct', 'dcir', 101),
  ('bzd_anxiolytique', 'prevention', 'Traitement par benzodiazépine anxiolytique',
   'Patients ayant initié un traitement d''au moins 4 délivrances de BZD anxiolytique sur 6 mois, parmi les patients sans délivrance dans les 6 mois précédents',
   'Initiations d''au moins 4 délivrances', 'Patients sans délivrance de BZD anxiolytique sur 6 mois', 'pct', 'dcir', 102),
  ('bzd_hypnotique', 'prevention', 'Traitement par benzodiazépine hypnotique',
   'Patients ayant initié un traitement de plus de 28 unités de BZD hypnotique sur 6 mois, parmi les patients sans délivrance dans les 6 mois précédents',
   'Initiations de plus de 28 unités', 'Patients sans délivrance de BZD hypnotique sur 6 mois', 'pct', 'dcir', 103),
  ('antibioresistance', 'prevention', 'Antibiorésistance',
   'Consommateurs traités par antibiotiques particulièrement générateurs d''antibiorésistance (amoxicilline + acide clavulanique, C3G/C4G, fluoroquinolones), parmi les consommateurs d''au moins un antibiotique',
   'Consommateurs traités par antibiotiques générateurs de résistance', 'Consommateurs d''au moins un antibiotique', 'pct', 'dcir', 104),
  ('antibio_moins_4', 'prevention', 'Antibiorésistance chez les enfants de moins de 4 ans',
   'Enfants de moins de 4 ans ayant eu au moins une délivrance de C3G/C4G prescrite par le médecin traitant, parmi les enfants de moins de 4 ans ayant eu au moins un antibiotique prescrit par le médecin traitant',
   'Enfants de moins de 4 ans traités par C3G/C4G', 'Enfants de moins de 4 ans traités par antibiotique', 'pct', 'dcir', 105),
  ('antibio_4_16', 'prevention', 'Antibiorésistance chez les enfants de 4 à 16 ans',
   'Enfants de 4 ans ou plus et de moins de 16 ans ayant eu au moins une délivrance de C3G/C4G prescrite par le médecin traitant, parmi ceux ayant eu au moins un antibiotique prescrit par le médecin traitant',
   'Enfants de 4 à 16 ans traités par C3G/C4G', 'Enfants de 4 à 16 ans traités par antibiotique', 'pct', 'dcir', 106),
  ('depistage_sein', 'prevention', 'Dépistage du cancer du sein',
   'Femmes de 50 à 74 ans ayant eu au moins un remboursement des actes CCAM ciblés (dépistage organisé ou individuel), parmi les femmes de 50 à 74 ans',
   'Femmes de 50 à 74 ans dépistées', 'Femmes de 50 à 74 ans', 'pct', 'dcir', 107),
  ('depistage_colorectal', 'prevention', 'Dépistage du cancer colorectal',
   'Consommateurs de 50 à 74 ans dépistés au cours des 2 dernières années, parmi les consommateurs de 50 à 74 ans sans coloscopie dans les 5 dernières années en ville ou 4 dernières années à l''hôpital',
   'Consommateurs de 50 à 74 ans dépistés', 'Consommateurs de 50 à 74 ans sans coloscopie récente', 'pct', 'dcir', 108),
  ('depistage_col', 'prevention', 'Dépistage du cancer du col de l''utérus',
   'Femmes de 25 à 30 ans avec une cytologie en 3 ans et femmes de 30 à 65 ans avec un test HPV en 5 ans, parmi les femmes de 25 à 65 ans',
   'Femmes de 25 à 65 ans dépistées', 'Femmes de 25 à 65 ans', 'pct', 'dcir', 109),
  ('bucco_dentaire', 'prevention', 'Examen bucco-dentaire chez les moins de 16 ans',
   'Enfants de moins de 16 ans ayant eu au moins un acte dentaire dans les 18 mois, parmi les enfants de moins de 16 ans',
   'Enfants de moins de 16 ans avec un acte dentaire', 'Enfants de moins de 16 ans', 'pct', 'dcir', 110),
  ('grippe_65', 'vaccination', 'Vaccination contre la grippe saisonnière (65 ans et plus)',
   'Consommateurs de 65 ans et plus vaccinés contre la grippe saisonnière, parmi les consommateurs de 65 ans et plus',
   'Consommateurs de 65 ans et plus vaccinés', 'Consommateurs de 65 ans et plus', 'pct', 'dcir_grippe', 120),
  ('grippe_risque', 'vaccination', 'Vaccination contre la grippe saisonnière : personnes à risque (16-64 ans)',
   'Consommateurs de 16 à 64 ans en ALD ciblée ou avec au moins 4 délivrances de R03, vaccinés contre la grippe, parmi ces consommateurs (régime général hors SLM)',
   'Consommateurs à risque de 16 à 64 ans vaccinés', 'Consommateurs à risque de 16 à 64 ans', 'pct', 'dcir_grippe', 121),
  ('ror', 'vaccination', 'Vaccination ROR (2 doses)',
   'Enfants de 19 à 30 mois ayant eu au moins 2 délivrances de ROR depuis leur naissance, parmi les enfants de 19 à 30 mois ayant eu au moins une délivrance de DTP',
   'Enfants de 19 à 30 mois avec 2 doses de ROR', 'Enfants de 19 à 30 mois avec au moins un DTP', 'pct', 'dcir', 122),
  ('meningocoque_c', 'vaccination', 'Vaccination contre le méningocoque C',
   'Enfants de 15 à 26 mois ayant eu au moins une délivrance de vaccin anti-méningocoque C, parmi les enfants de 15 à 26 mois ayant eu au moins une délivrance de DTP',
   'Enfants de 15 à 26 mois vaccinés', 'Enfants de 15 à 26 mois avec au moins un DTP', 'pct', 'dcir', 123);

-- The list of ALD 30 (decree D.322-1 CSS); n° 12 (HTA sévère) left the list in 2011, hence 29 rows.
INSERT INTO ref.indicators (id, section, label, definition, numerator_label, denominator_label, unit, source_key, ald_number, ordinal)
SELECT 'ald_' || lpad(n::text, 2, '0'), 'prevalence', label,
       'Consommateurs ayant une ALD n° ' || n || ' active et un remboursement à ce titre dans la période, parmi l''ensemble des consommateurs',
       'Patients en ALD n° ' || n, 'Consommateurs (tous âges)', 'pct', 'dcir', n, 200 + n
FROM (VALUES
  (1, 'Accident vasculaire cérébral invalidant'),
  (2, 'Insuffisances médullaires et autres cytopénies chroniques'),
  (3, 'Artériopathies chroniques avec manifestations ischémiques'),
  (4, 'Bilharziose compliquée'),
  (5, 'Insuffisance cardiaque grave, troubles du rythme graves, cardiopathies valvulaires graves, cardiopathies congénitales graves'),
  (6, 'Maladies chroniques actives du foie et cirrhoses'),
  (7, 'Déficit immunitaire primitif grave, infection par le VIH'),
  (8, 'Diabète de type 1 et diabète de type 2'),
  (9, 'Formes graves des affections neurologiques et musculaires, épilepsie grave'),
  (10, 'Hémoglobinopathies, hémolyses chroniques constitutionnelles et acquises sévères'),
  (11, 'Hémophilies et affections constitutionnelles de l''hémostase graves'),
  (13, 'Maladie coronaire'),
  (14, 'Insuffisance respiratoire chronique grave'),
  (15, 'Maladie d''Alzheimer et autres démences'),
  (16, 'Maladie de Parkinson'),
  (17, 'Maladies métaboliques héréditaires nécessitant un traitement prolongé spécialisé'),
  (18, 'Mucoviscidose'),
  (19, 'Néphropathie chronique grave et syndrome néphrotique primitif'),
  (20, 'Paraplégie'),
  (21, 'Vascularites, lupus érythémateux systémique, sclérodermie systémique'),
  (22, 'Polyarthrite rhumatoïde évolutive'),
  (23, 'Affections psychiatriques de longue durée'),
  (24, 'Rectocolite hémorragique et maladie de Crohn évolutives'),
  (25, 'Sclérose en plaques'),
  (26, 'Scoliose idiopathique structurale évolutive'),
  (27, 'Spondylarthrite grave'),
  (28, 'Suites de transplantation d''organe'),
  (29, 'Tuberculose active, lèpre'),
  (30, 'Tumeur maligne, affection maligne du tissu lymphatique ou hématopoïétique')
) AS ald(n, label);

-- Raw data ----------------------------------------------------------------------------------------------------

CREATE TABLE health.finess_et (
    nofinesset        text PRIMARY KEY CHECK (nofinesset ~ '^[0-9A-Z]{9}$'),
    nofinessej        text NOT NULL,
    rs                text NOT NULL,
    rslongue          text,
    complrs           text,
    numvoie           text,
    typvoie           text,
    voie              text,
    compvoie          text,
    lieuditbp         text,
    ligneacheminement text,
    telephone         text,
    categetab         text NOT NULL REFERENCES ref.finess_categories(categetab),
    categagretab      text,
    codemft           text,
    codesph           text,
    dateouv           date,
    datemaj           date,
    departement_finess text NOT NULL,           -- as written in the file ('9A', '2B', '75')
    commune_code      text NOT NULL,            -- INSEE code rebuilt from département + 3-digit commune
    selectable_code   text NOT NULL REFERENCES ref.communes(code),  -- unit it counts in (PLM: arrondissement)
    coord_x           double precision,
    coord_y           double precision,
    source_epsg       integer,
    sourcecoordet     text,
    geocoder          text,
    geocode_score     integer,
    approximate       boolean NOT NULL,         -- geocoded on a commune centroid (score '.')
    geom              geometry(Point, 4326),
    geom_3857         geometry(Point, 3857),
    source            text NOT NULL REFERENCES ref.data_sources(source)
);
CREATE INDEX finess_geom_3857_idx ON health.finess_et USING gist (geom_3857);
CREATE INDEX finess_commune_idx ON health.finess_et (selectable_code);
CREATE INDEX finess_ej_idx ON health.finess_et (nofinessej);

-- Centres de santé typology comes from the e-CDS observatory (ATIH), not from FINESS.
CREATE TABLE health.cds_types (
    nofinesset text PRIMARY KEY,
    cds_type   text NOT NULL CHECK (cds_type IN ('medical_polyvalent', 'dentaire', 'infirmier')),
    source     text NOT NULL REFERENCES ref.data_sources(source)
);

CREATE TABLE health.ps_demography (
    commune_code text NOT NULL REFERENCES ref.communes(code),
    category     text NOT NULL REFERENCES ref.ps_categories(key),
    n            integer NOT NULL CHECK (n >= 0),
    n_60plus     integer CHECK (n_60plus >= 0),   -- NULL for businesses (ages not applicable)
    n_65plus     integer CHECK (n_65plus >= 0),
    source       text NOT NULL REFERENCES ref.data_sources(source),
    PRIMARY KEY (commune_code, category),
    CHECK (n_65plus <= n_60plus AND n_60plus <= n)
);

CREATE TABLE health.ps_activity (
    commune_code text NOT NULL REFERENCES ref.communes(code),
    profession   text NOT NULL REFERENCES ref.ps_categories(key),
    n_ps         integer NOT NULL CHECK (n_ps > 0),
    patients     integer NOT NULL CHECK (patients >= 0),
    source       text NOT NULL REFERENCES ref.data_sources(source),
    PRIMARY KEY (commune_code, profession)
);

CREATE TABLE health.ps_acts (
    commune_code text NOT NULL REFERENCES ref.communes(code),
    act_type     text NOT NULL REFERENCES ref.act_types(key),
    quantity     numeric(14, 1) NOT NULL CHECK (quantity >= 0),
    source       text NOT NULL REFERENCES ref.data_sources(source),
    PRIMARY KEY (commune_code, act_type)
);

CREATE TABLE health.consumers (
    commune_code text NOT NULL REFERENCES ref.communes(code),
    age_band     text NOT NULL CHECK (age_band IN ('0-17', '18-39', '40-64', '65-79', '80+')),
    n            integer NOT NULL CHECK (n >= 0),
    source       text NOT NULL REFERENCES ref.data_sources(source),
    PRIMARY KEY (commune_code, age_band)
);
COMMENT ON TABLE health.consumers IS 'Consumers (at least one reimbursement in the period) by age band.';

CREATE TABLE health.indicator_counts (
    indicator_id text NOT NULL REFERENCES ref.indicators(id),
    commune_code text NOT NULL REFERENCES ref.communes(code),
    numerator    integer NOT NULL CHECK (numerator >= 0),
    denominator  integer NOT NULL CHECK (denominator >= 0),
    source       text NOT NULL REFERENCES ref.data_sources(source),
    PRIMARY KEY (indicator_id, commune_code)
);

CREATE TABLE ref.zonage (
    commune_code text PRIMARY KEY REFERENCES ref.communes(code),
    zonage       text NOT NULL CHECK (zonage IN ('ZIP', 'ZAC')),
    source       text NOT NULL REFERENCES ref.data_sources(source)
);
COMMENT ON TABLE ref.zonage IS 'Zonage médecin généraliste; a commune absent from it is hors zonage.';

CREATE TABLE ref.qpv (
    code   text PRIMARY KEY,
    nom    text NOT NULL,
    source text NOT NULL REFERENCES ref.data_sources(source)
);
CREATE TABLE ref.qpv_communes (
    qpv_code     text NOT NULL REFERENCES ref.qpv(code) ON DELETE CASCADE,
    commune_code text NOT NULL REFERENCES ref.communes(code),
    PRIMARY KEY (qpv_code, commune_code)
);
CREATE INDEX ON ref.qpv_communes (commune_code);

CREATE TABLE ref.cpts (
    id      integer PRIMARY KEY,
    nom     text NOT NULL,
    statut  text NOT NULL CHECK (statut IN ('aci_signe', 'projet_valide', 'lettre_intention')),
    source  text NOT NULL REFERENCES ref.data_sources(source)
);
CREATE TABLE ref.cpts_communes (
    cpts_id      integer NOT NULL REFERENCES ref.cpts(id) ON DELETE CASCADE,
    commune_code text NOT NULL UNIQUE REFERENCES ref.communes(code),  -- a commune belongs to one CPTS at most
    PRIMARY KEY (cpts_id, commune_code)
);
