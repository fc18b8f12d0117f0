-- Header-bar figures as JSON text (api.summary, V0020).
SELECT api.summary($1::text[])::text
