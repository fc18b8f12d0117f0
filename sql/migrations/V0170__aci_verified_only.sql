-- Purpose: keep in the ACI financing table only amounts read in a verified instrument, with its reference.
--
-- The amounts of the ACI CPTS are those of the accord conventionnel interprofessionnel signed on 20 June 2019
-- and approved by the arrêté of 21 August 2019 (NOR SSAS1924409A). Their totals per size (220 000, 287 000,
-- 370 000 and 450 000 € a year at most) agree with the published text and with the seed documents. Every
-- report prints this reference next to the amounts, so the note names it plainly.
--
-- The « Avenant 2 » rows came from press articles and one contract, not from the Journal officiel: their
-- amounts could not be checked against the published avenant, so they are removed rather than printed with
-- a caveat. The report says that later avenants exist and that their amounts are not reproduced.

DELETE FROM api.aci_parameters WHERE NOT verified;

UPDATE api.aci_parameters
SET note = 'Accord conventionnel interprofessionnel du 20 juin 2019, approuvé par l''arrêté du 21 août 2019 '
           '(NOR : SSAS1924409A)'
WHERE instrument = 'ACI 2019';

COMMENT ON TABLE api.aci_parameters IS
  'ACI CPTS amounts by instrument, date, mission, volet and size; only rows checked against the published '
  'instrument (verified = true), its reference in note.';
