-- Source of the commune coverage: the selectable units with a contour (PLM parents are not selectable, their
-- arrondissements are), in EPSG:3857 as stored by the reference load.
SELECT c.id, c.departement_code AS departement, c.region_code AS region, ST_AsBinary(c.geom_3857) AS wkb
FROM ref.communes c
WHERE c.selectable AND c.geom_3857 IS NOT NULL
ORDER BY c.id
