-- The masked diagnosis as JSON text; every secrecy rule is applied inside api.diagnosis (V0021).
SELECT api.diagnosis($1::text[], $2::text[])::text
