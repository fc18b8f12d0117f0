-- Purpose: one palette for the FINESS structure groups, next to their definition. The tile style reads it (and
--          through the style, the web legend), the report's map reads it; nothing else writes a colour of its own.
--          The symbol's shape follows the sector (sanitaire: circle, médico-social: square, coordination:
--          diamond), so that a grey-scale print still tells them apart.
ALTER TABLE ref.finess_groups ADD COLUMN colour text CHECK (colour ~ '^#[0-9a-f]{6}$');

UPDATE ref.finess_groups g SET colour = v.colour
FROM (VALUES
  ('ch',         '#b2182b'),
  ('chr',        '#67001f'),
  ('chr_entite', '#d6604d'),
  ('hl',         '#f4a582'),
  ('hia',        '#4d4d4d'),
  ('clinique',   '#2166ac'),
  ('ssr',        '#4393c3'),
  ('dialyse',    '#92c5de'),
  ('had',        '#8c510a'),
  ('ehpad',      '#bf812d'),
  ('ssiad',      '#dfc27d'),
  ('msp',        '#1b7837'),
  ('cds',        '#5aae61'),
  ('cpts',       '#762a83')
) AS v(key, colour)
WHERE g.key = v.key;

ALTER TABLE ref.finess_groups ALTER COLUMN colour SET NOT NULL;
COMMENT ON COLUMN ref.finess_groups.colour IS 'Colour of the group on every map (tiles style, web legend, PDF).';
