-- The small fixture of the SQL unit tests (tests/sqlunit/conftest.py): five communes in two départements of
-- one région, their consumers by age band, a few indicator counts and FINESS rows. Every figure is chosen so
-- that a test can work its expected value out by hand; change one and the tests that read it must change too.
-- Nothing here is real data.

INSERT INTO ref.data_sources (source, label, block, vintage, is_demo, file_name, sha256, row_count) VALUES
  ('dcir_consommants', 'Consommants (fixture)', 'population', '2024', true, 'fixture.sql', 'fx-consommants', 25),
  ('dcir_indicateurs', 'Indicateurs (fixture)', 'indicateurs', '2024', true, 'fixture.sql', 'fx-indicateurs', 13),
  ('finess', 'FINESS (fixture)', 'finess', '2024', true, 'fixture.sql', 'fx-finess', 4);

INSERT INTO ref.regions (code, nom) VALUES ('93', 'Provence-Alpes-Côte d''Azur');
INSERT INTO ref.departements (code, nom, region_code) VALUES
  ('04', 'Alpes-de-Haute-Provence', '93'),
  ('05', 'Hautes-Alpes', '93');

-- No contours: the SQL under test works on codes and counts (contour_status 'missing' allows a NULL geom).
INSERT INTO ref.communes (id, code, kind, nom, search_key, departement_code, region_code, selectable, population,
                          population_status, contour_status)
SELECT substr(code, 1, 2)::integer * 1000 + substr(code, 3)::integer, code, 'COM', nom, ref.search_key(nom),
       substr(code, 1, 2), '93', true, population, 'source', 'missing'
FROM (VALUES ('04001', 'Alpha', 1000), ('04002', 'Bravo', 150), ('04003', 'Charlie', 45),
             ('05001', 'Delta', 400), ('05002', 'Écho', 200)) AS c(code, nom, population);

-- Consumers: Alpha 800, Bravo 117 (every band >= 11), Charlie 40 (< 50: every cell of Charlie is neutralised),
-- Delta 340, Écho 160.
INSERT INTO health.consumers (commune_code, age_band, n, source)
SELECT c.code, b.band, c.n[b.i], 'dcir_consommants'
FROM (VALUES ('04001', ARRAY[100, 200, 300, 150, 50]), ('04002', ARRAY[20, 30, 40, 15, 12]),
             ('04003', ARRAY[5, 10, 10, 8, 7]), ('05001', ARRAY[50, 80, 120, 60, 30]),
             ('05002', ARRAY[30, 40, 50, 25, 15])) AS c(code, n)
CROSS JOIN (VALUES (1, '0-17'), (2, '18-39'), (3, '40-64'), (4, '65-79'), (5, '80+')) AS b(i, band);

-- pop_ald: denominator = consumers of 17 and over. Bravo's numerator 8 < 11, Écho's complement 130 - 120 = 10
-- < 11. mt_17_sans_ald is nested in mt_17_sans and pop_ald: Delta's 40 - 35 = 5 < 11 neutralises it
-- there, Écho's 20 - 15 = 5 too.
INSERT INTO health.indicator_counts (indicator_id, commune_code, numerator, denominator, source) VALUES
  ('pop_ald', '04001', 120, 700, 'dcir_indicateurs'),
  ('pop_ald', '04002', 8, 97, 'dcir_indicateurs'),
  ('pop_ald', '04003', 12, 35, 'dcir_indicateurs'),
  ('pop_ald', '05001', 60, 290, 'dcir_indicateurs'),
  ('pop_ald', '05002', 120, 130, 'dcir_indicateurs'),
  ('mt_17_sans', '04001', 100, 700, 'dcir_indicateurs'),
  ('mt_17_sans', '04002', 30, 97, 'dcir_indicateurs'),
  ('mt_17_sans', '05001', 40, 290, 'dcir_indicateurs'),
  ('mt_17_sans', '05002', 20, 130, 'dcir_indicateurs'),
  ('mt_17_sans_ald', '04001', 50, 700, 'dcir_indicateurs'),
  ('mt_17_sans_ald', '04002', 6, 97, 'dcir_indicateurs'),
  ('mt_17_sans_ald', '05001', 35, 290, 'dcir_indicateurs'),
  ('mt_17_sans_ald', '05002', 15, 130, 'dcir_indicateurs');

-- FINESS: two CHR sites of one legal entity (the second by number is a 'chr_entite'), an MSP and an EHPAD.
INSERT INTO health.finess_et (nofinesset, nofinessej, rs, categetab, departement_finess, commune_code,
                              selectable_code, approximate, source) VALUES
  ('040000001', '040000900', 'CHR Alpha site 1', '101', '04', '04001', '04001', false, 'finess'),
  ('040000002', '040000900', 'CHR Alpha site 2', '101', '04', '04001', '04001', true, 'finess'),
  ('040000003', '040000901', 'MSP de Bravo', '603', '04', '04002', '04002', false, 'finess'),
  ('050000001', '050000900', 'EHPAD de Delta', '500', '05', '05001', '05001', false, 'finess');
