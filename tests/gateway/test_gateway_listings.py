"""The list routes regional tools use, through a real gateway process on the loaded database: the existing
CPTS and the communes of a département, a région or an EPCI, walked page by page with the `Link` header and
compared with what the tables say; ETags; every bad input answered with its problem `code`."""

from __future__ import annotations

import base64
import re

import asyncpg
import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")

_LINK = re.compile(r'<([^>]+)>;\s*rel="([^"]+)"')


def _links(header: str) -> dict[str, str]:
    return {rel: url for url, rel in _LINK.findall(header)}


async def _get(http, url, **headers):
    async with http.get(url, headers={"Accept-Encoding": "identity", **headers}) as r:
        body = await r.json(content_type=None) if r.status != 304 else None
        return r.status, r.headers, body


async def _walk(http, url: str) -> tuple[list[dict], list[dict]]:
    """Every item, following rel="next" to the end; and each page's body."""
    items, pages = [], []
    while url:
        status, headers, body = await _get(http, url)
        assert status == 200, body
        links = _links(headers["Link"])
        assert "first" in links
        assert ("next" in links) == (body["next_cursor"] is not None)
        items.extend(body["items"])
        pages.append(body)
        url = links.get("next")
    return items, pages


async def _fetch(database_url: str, sql: str, *args):
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_every_cpts_once_in_id_order_with_its_communes_and_population(http, gateway, database_url):
    items, pages = await _walk(http, f"{gateway}/api/v1/cpts?limit=200")
    expected = await _fetch(
        database_url,
        """SELECT p.id, p.nom, p.statut, array_agg(c.code ORDER BY c.code) AS communes,
                  coalesce(sum(c.population), 0) AS population
           FROM ref.cpts p JOIN ref.cpts_communes pc ON pc.cpts_id = p.id
           JOIN ref.communes c ON c.code = pc.commune_code GROUP BY p.id ORDER BY p.id""",
    )
    assert len(expected) > 500 and len(pages) == -(-len(expected) // 200)
    assert [i["id"] for i in items] == [r["id"] for r in expected]
    for item, row in zip(items, expected, strict=True):
        assert (item["nom"], item["statut"], item["communes"], item["population"]) == (
            row["nom"],
            row["statut"],
            list(row["communes"]),
            row["population"],
        )
        assert item["commune_count"] == len(row["communes"])
    assert {p["total"] for p in pages} == {len(expected)} and all(len(p["items"]) <= 200 for p in pages)
    # The list is demonstration data and says so.
    assert pages[0]["source"]["source"] == "cpts" and pages[0]["source"]["is_demo"] is True


async def test_cpts_filters_match_the_tables(http, gateway, database_url):
    rows = await _fetch(
        database_url,
        """SELECT DISTINCT p.id FROM ref.cpts p JOIN ref.cpts_communes pc ON pc.cpts_id = p.id
           JOIN ref.communes c ON c.code = pc.commune_code
           WHERE c.region_code = '84' AND p.statut = 'aci_signe' ORDER BY p.id""",
    )
    items, _ = await _walk(http, f"{gateway}/api/v1/cpts?region=84&statut=aci_signe&limit=40")
    assert [i["id"] for i in items] == [r["id"] for r in rows] and len(rows) > 40
    assert all("84" in i["regions"] and i["statut"] == "aci_signe" for i in items)
    # Corsica, lower case tolerated as for commune codes; a CPTS touching two départements is in both lists.
    items, _ = await _walk(http, f"{gateway}/api/v1/cpts?departement=2a")
    assert items and all("2A" in i["departements"] for i in items)


async def test_cpts_statuses_are_the_tables(database_url):
    from gateway.listing_schemas import CPTS_STATUSES

    (row,) = await _fetch(
        database_url,
        "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint "
        "WHERE conrelid = 'ref.cpts'::regclass AND contype = 'c'",
    )
    assert set(re.findall(r"'([a-z_]+)'", row["def"])) == set(CPTS_STATUSES)


@pytest.mark.parametrize(
    ("path", "column", "code", "limit"),
    [
        ("departements/2A", "departement_code", "2A", 37),
        ("regions/94", "region_code", "94", 100),
        ("epci/242010056", "epci_code", "242010056", 3),
    ],
)
async def test_communes_of_a_territory_page_by_page(http, gateway, database_url, path, column, code, limit):
    items, pages = await _walk(http, f"{gateway}/api/v1/{path}/communes?limit={limit}")
    rows = await _fetch(
        database_url,
        f"""SELECT c.code, c.nom, c.population, p.id AS cpts_id FROM ref.communes c
            LEFT JOIN ref.cpts_communes pc ON pc.commune_code = c.code
            LEFT JOIN ref.cpts p ON p.id = pc.cpts_id
            WHERE c.{column} = $1 ORDER BY c.code""",
        code,
    )
    assert len(rows) > limit and len(pages) == -(-len(rows) // limit)
    assert [(i["code"], i["nom"], i["population"]) for i in items] == [
        (r["code"], r["nom"], r["population"]) for r in rows
    ]
    assert [i["cpts"]["id"] if i["cpts"] else None for i in items] == [r["cpts_id"] for r in rows]
    level = {"departement_code": "departement", "region_code": "region", "epci_code": "epci"}[column]
    assert pages[0]["territory"]["level"] == level and pages[0]["territory"]["code"] == code
    assert pages[0]["territory"]["nom"] and {p["total"] for p in pages} == {len(rows)}


async def test_communes_filters(http, gateway, database_url):
    # Paris: the commune is listed but not selectable; its 20 arrondissements are.
    status, _, body = await _get(http, f"{gateway}/api/v1/departements/75/communes")
    assert status == 200 and body["total"] == 21
    assert [(i["code"], i["selectable"]) for i in body["items"] if not i["selectable"]] == [("75056", False)]
    status, _, body = await _get(http, f"{gateway}/api/v1/departements/75/communes?selectable=true")
    assert body["total"] == 20 and all(
        i["kind"] == "ARM" and i["parent_code"] == "75056" for i in body["items"]
    )
    # The communes of Occitanie outside any CPTS, and those in one, split the région.
    out_items, _ = await _walk(http, f"{gateway}/api/v1/regions/76/communes?in_cpts=false&limit=1000")
    in_items, _ = await _walk(http, f"{gateway}/api/v1/regions/76/communes?in_cpts=true&limit=1000")
    (row,) = await _fetch(
        database_url,
        "SELECT count(*) FILTER (WHERE pc.cpts_id IS NULL) AS out, count(pc.cpts_id) AS inside "
        "FROM ref.communes c LEFT JOIN ref.cpts_communes pc ON pc.commune_code = c.code "
        "WHERE c.region_code = '76'",
    )
    assert (len(out_items), len(in_items)) == (row["out"], row["inside"]) and row["out"] and row["inside"]
    assert all(i["cpts"] is None for i in out_items) and all(i["cpts"] for i in in_items)


async def test_links_name_the_configured_origin_and_keep_the_filters(http, gateway):
    """The public origin comes from REZONE_PUBLIC_URL (the test gateway's own), never from Host."""
    status, headers, body = await _get(
        http,
        f"{gateway}/api/v1/regions/94/communes?in_cpts=false&limit=5",
        Host="attacker.example",
        **{"X-Forwarded-Host": "attacker.example", "X-Forwarded-Proto": "https"},
    )
    assert status == 200
    links = _links(headers["Link"])
    assert links["first"] == f"{gateway}/api/v1/regions/94/communes?in_cpts=false&limit=5"
    assert links["next"] == f"{links['first']}&cursor={body['next_cursor']}"
    # A code as tolerated (lower case, blanks) is named in its canonical form.
    status, headers, _ = await _get(http, f"{gateway}/api/v1/departements/%202a%20/communes?limit=5")
    assert (
        status == 200
        and _links(headers["Link"])["first"] == f"{gateway}/api/v1/departements/2A/communes?limit=5"
    )


async def test_etag_and_revalidation(http, gateway):
    url = f"{gateway}/api/v1/departements/2B/communes?limit=10"
    status, headers, body = await _get(http, url)
    assert status == 200 and headers["X-Cache"] in ("MISS", "HIT")
    etag = headers["ETag"]
    status, again, _ = await _get(http, url, **{"If-None-Match": etag})
    assert status == 304 and again["ETag"] == etag and again["X-Cache"] == "HIT" and "Link" in again
    status, other, _ = await _get(http, url.replace("limit=10", "limit=11"), **{"If-None-Match": etag})
    assert status == 200 and other["ETag"] != etag
    # A larger page is sent compressed to a client that takes gzip, with its own validator.
    async with http.get(f"{gateway}/api/v1/regions/84/communes?limit=500") as r:
        assert (
            r.status == 200 and r.headers["Content-Encoding"] == "gzip" and r.headers["ETag"].endswith('-gz"')
        )


def _cursor(kind: str, key) -> str:
    import json

    return base64.urlsafe_b64encode(json.dumps([kind, key]).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("path", "status", "code", "member"),
    [
        ("cpts?cursor=%21%21%21", 400, "invalid_cursor", ("parameter", "cursor")),
        ("cpts?cursor=bm90IGpzb24", 400, "invalid_cursor", None),
        (f"cpts?cursor={_cursor('communes', '01004')}", 400, "invalid_cursor", None),
        (f"cpts?cursor={_cursor('cpts', -1)}", 400, "invalid_cursor", None),
        (f"departements/01/communes?cursor={_cursor('cpts', 3)}", 400, "invalid_cursor", None),
        ("cpts?limit=0", 400, "invalid_parameter", ("maximum", 1000)),
        ("cpts?limit=1001", 400, "invalid_parameter", ("minimum", 1)),
        ("cpts?limit=dix", 400, "invalid_parameter", ("parameter", "limit")),
        ("cpts?limit=%D9%A3", 400, "invalid_parameter", ("parameter", "limit")),  # an Arabic-Indic three
        ("cpts?statut=signee", 400, "invalid_parameter", ("parameter", "statut")),
        ("cpts?departement=20", 400, "invalid_territory_code", ("level", "departement")),
        ("cpts?region=1", 400, "invalid_territory_code", ("level", "region")),
        ("cpts?page=2", 400, "unknown_parameter", ("parameters", ["page"])),
        ("departements/96/communes", 400, "invalid_territory_code", ("level", "departement")),
        ("departements/975/communes", 404, "unknown_territory", ("unknown", ["975"])),
        ("regions/99/communes", 404, "unknown_territory", ("level", "region")),
        ("regions/9a/communes", 400, "invalid_territory_code", None),
        ("epci/12345678/communes", 400, "invalid_territory_code", ("level", "epci")),
        ("epci/123456789/communes", 404, "unknown_territory", ("level", "epci")),
        ("departements/01/communes?selectable=oui", 400, "invalid_parameter", ("parameter", "selectable")),
        ("departements/01/communes?in_cpts=1", 400, "invalid_parameter", ("parameter", "in_cpts")),
        ("departements/01/communes?departement=01", 400, "unknown_parameter", None),
    ],
)
async def test_bad_input_is_a_problem_with_a_code(http, gateway, path, status, code, member):
    async with http.get(f"{gateway}/api/v1/{path}") as r:
        body = await r.json(content_type=None)
        assert (r.status, r.content_type, body["code"]) == (status, "application/problem+json", code), body
    if member is not None:
        assert body[member[0]] == member[1]


async def test_a_cursor_past_the_end_is_an_empty_last_page(http, gateway):
    status, headers, body = await _get(http, f"{gateway}/api/v1/cpts?cursor={_cursor('cpts', 10**9)}")
    assert status == 200 and body["items"] == [] and body["next_cursor"] is None and body["total"] > 500
    assert set(_links(headers["Link"])) == {"first"}


async def test_a_portal_on_another_origin_may_read_the_link(http, gateway):
    """An allowed origin (REZONE_GATEWAY_CORS_ORIGINS) is told it may read Link, to follow the pages."""
    status, headers, _ = await _get(http, f"{gateway}/api/v1/cpts?limit=2", Origin="https://portail.example")
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "https://portail.example"
    assert "Link" in [h.strip() for h in headers["Access-Control-Expose-Headers"].split(",")]


async def test_territory_code_forms_are_the_tables(database_url):
    """The one département form (the head of the INSEE code form) and the région / EPCI forms accept every
    code of the reference; the département form refuses what the commune code form refuses."""
    from services.common.validation import CODE_FORM, DEPARTEMENT_FORM, EPCI_FORM, REGION_FORM

    rows = await _fetch(database_url, "SELECT code, departement_code FROM ref.communes")
    assert all(r["code"].startswith(r["departement_code"]) for r in rows) and len(rows) > 30_000
    for sql, form in (
        ("SELECT code FROM ref.departements", DEPARTEMENT_FORM),
        ("SELECT code FROM ref.regions", REGION_FORM),
        ("SELECT code FROM ref.epci", EPCI_FORM),
    ):
        codes = [r["code"] for r in await _fetch(database_url, sql)]
        assert codes and [c for c in codes if not form.fullmatch(c)] == [], sql
    for head in ("00", "20", "96", "977", "2C"):
        assert not DEPARTEMENT_FORM.fullmatch(head) and not CODE_FORM.fullmatch(head.ljust(5, "0"))
    assert not DEPARTEMENT_FORM.fullmatch("9") and not DEPARTEMENT_FORM.fullmatch("2a")
