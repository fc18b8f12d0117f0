-- Ids of the ALD prevalence indicators a client may ask for in a diagnosis (`ald` parameter).
SELECT id FROM ref.indicators WHERE ald_number IS NOT NULL ORDER BY id
