-- Fill the tiles.* tables from the generalised geometries staged in temporary tables (WKB, EPSG:3857) and
-- from the reference; runs inside the build transaction, so services never see a half-built set.
-- DELETE, not TRUNCATE: this runs inside the load's transaction while the tiles service reads these tables;
-- TRUNCATE would lock them exclusively until the load commits.
DELETE FROM tiles.communes;
DELETE FROM tiles.admin;
DELETE FROM tiles.labels;
DELETE FROM tiles.cpts;
DELETE FROM tiles.finess;

INSERT INTO tiles.communes (band, id, code, nom, population, departement, geom)
SELECT g.band, g.id, c.code, c.nom, c.population, c.departement_code, ST_Multi(ST_GeomFromWKB(g.wkb, 3857))
FROM gen_communes g
JOIN ref.communes c ON c.id = g.id
WHERE NOT ST_IsEmpty(ST_GeomFromWKB(g.wkb, 3857));

INSERT INTO tiles.admin (band, level, id, code, nom, region, geom)
SELECT g.band, g.level, g.id, g.code, coalesce(d.nom, r.nom), g.region, ST_Multi(ST_GeomFromWKB(g.wkb, 3857))
FROM gen_admin g
LEFT JOIN ref.departements d ON g.level = 'departement' AND d.code = g.code
LEFT JOIN ref.regions r ON g.level = 'region' AND r.code = g.code
WHERE NOT ST_IsEmpty(ST_GeomFromWKB(g.wkb, 3857));

INSERT INTO tiles.cpts (band, id, nom, statut, geom)
SELECT g.band, g.id, p.nom, p.statut, ST_Multi(ST_GeomFromWKB(g.wkb, 3857))
FROM gen_cpts g
JOIN ref.cpts p ON p.id = g.id
WHERE NOT ST_IsEmpty(ST_GeomFromWKB(g.wkb, 3857));

INSERT INTO tiles.labels (level, id, code, nom, population, geom)
SELECT 'commune', c.id, c.code, c.nom, c.population, ST_Transform(c.label_point, 3857)
FROM ref.communes c
WHERE c.selectable AND c.label_point IS NOT NULL;

-- Départements and régions: the centre of the largest inscribed circle (on the z7 band, cheap and close
-- enough) reads better than a point on surface; population summed over selectable communes (sort key).
INSERT INTO tiles.labels (level, id, code, nom, population, geom)
SELECT a.level, a.id, a.code, a.nom, p.population, (ST_MaximumInscribedCircle(a.geom)).center
FROM tiles.admin a
JOIN (SELECT 'departement' AS level, departement_code AS code, sum(population)::integer AS population
      FROM ref.communes WHERE selectable GROUP BY departement_code
      UNION ALL
      SELECT 'region', region_code, sum(population)::integer
      FROM ref.communes WHERE selectable GROUP BY region_code) p ON p.level = a.level AND p.code = a.code
WHERE a.band = 7;

-- FINESS ET with a position; the Rézone group (chr / chr_entite rule) comes from stats.finess_groups_et.
-- The address is one line as on an envelope: the complement (B, T: bis, ter) follows the number
-- ('12 B R DE LA PAIX'), then the lieu-dit or BP and the postcode + city, comma-separated, blanks collapsed.
INSERT INTO tiles.finess (id, finess, groupe, nom, categorie, adresse, approximate, geom)
SELECT tiles.finess_id(f.nofinesset), f.nofinesset, g.group_key, left(f.rs, 60), c.libelle,
       nullif(regexp_replace(concat_ws(', ',
                                       nullif(btrim(concat_ws(' ', f.numvoie, f.compvoie, f.typvoie, f.voie)), ''),
                                       nullif(btrim(f.lieuditbp), ''),
                                       nullif(btrim(f.ligneacheminement), '')),
                             '\s+', ' ', 'g'), ''),
       f.approximate, f.geom_3857
FROM health.finess_et f
JOIN stats.finess_groups_et g ON g.nofinesset = f.nofinesset
JOIN ref.finess_categories c ON c.categetab = f.categetab
WHERE f.geom_3857 IS NOT NULL;

ANALYZE tiles.communes, tiles.admin, tiles.labels, tiles.cpts, tiles.finess;
