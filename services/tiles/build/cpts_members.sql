-- Member units of each existing CPTS; a PLM parent listed as a member stands for all its arrondissements.
SELECT p.cpts_id, c.id AS commune_id
FROM ref.cpts_communes p
JOIN ref.communes c ON c.selectable AND (c.code = p.commune_code OR c.parent_code = p.commune_code)
ORDER BY 1, 2
