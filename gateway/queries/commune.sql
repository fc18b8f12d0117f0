-- One commune (or PLM arrondissement) with its département, région, EPCI, CPTS, label point and bbox.
SELECT c.code, c.nom, c.nom_de, c.kind, c.selectable, c.population, c.parent_code,
       c.departement_code, d.nom AS departement_nom, c.region_code, r.nom AS region_nom,
       c.epci_code, e.nom AS epci_nom, p.id AS cpts_id, p.nom AS cpts_nom, p.statut AS cpts_statut,
       ST_X(c.label_point) AS lon, ST_Y(c.label_point) AS lat,
       ST_XMin(c.geom) AS xmin, ST_YMin(c.geom) AS ymin, ST_XMax(c.geom) AS xmax, ST_YMax(c.geom) AS ymax
FROM ref.communes c
JOIN ref.departements d ON d.code = c.departement_code
JOIN ref.regions r ON r.code = c.region_code
LEFT JOIN ref.epci e ON e.code = c.epci_code
LEFT JOIN ref.cpts_communes pc ON pc.commune_code = c.code
LEFT JOIN ref.cpts p ON p.id = pc.cpts_id
WHERE c.code = $1
