-- Purpose: what regional tools list through the gateway (docs/api.md, "Listes") — the existing CPTS and the
--          communes of a département, a région or an EPCI, page by page in code order.
--            ref.cpts_summary  one row per existing CPTS: name, status, its communes in code order, their
--                              population (sum of the known populations, and how many are unknown), the
--                              départements and régions it touches. A view, so that what "the population
--                              of a CPTS" means is written once, here; security_invoker, so that it grants
--                              nothing its reader could not read from the tables themselves.
--            indexes           keyset pages of a région's or an EPCI's communes (code order) read only the
--                              page; a département's already have communes_dep_idx (few hundred rows).
--          The gateway role (V0121) reads the view, and nothing more than before: the tables under it are
--          already its own (ref.cpts, ref.cpts_communes, ref.communes).
-- Depends on: V0001, V0002, V0121.

CREATE VIEW ref.cpts_summary WITH (security_invoker = true) AS
SELECT p.id,
       p.nom,
       p.statut,
       p.source,
       coalesce(array_agg(c.code ORDER BY c.code) FILTER (WHERE c.code IS NOT NULL), '{}') AS communes,
       coalesce(sum(c.population), 0)::bigint AS population,
       count(c.code) FILTER (WHERE c.population IS NULL)::integer AS population_missing,
       coalesce(array_agg(DISTINCT c.departement_code) FILTER (WHERE c.code IS NOT NULL), '{}')
           AS departements,
       coalesce(array_agg(DISTINCT c.region_code) FILTER (WHERE c.code IS NOT NULL), '{}') AS regions
FROM ref.cpts p
LEFT JOIN ref.cpts_communes pc ON pc.cpts_id = p.id
LEFT JOIN ref.communes c ON c.code = pc.commune_code
GROUP BY p.id;
COMMENT ON VIEW ref.cpts_summary IS
  'Existing CPTS with their communes, population (known part) and the départements and régions they touch.';

CREATE INDEX communes_region_code_idx ON ref.communes (region_code, code);
CREATE INDEX communes_epci_code_idx ON ref.communes (epci_code, code);

GRANT SELECT ON ref.cpts_summary TO rezone_gateway;
