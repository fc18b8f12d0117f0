-- One part of the masked diagnosis as JSON text ('territory', 'indicators' or 'offer'; api._part, V0020).
SELECT api.diagnosis_part($1::text[], $2::text[], $3::text)::text
