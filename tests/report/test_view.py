"""The report view (what reaches Typst) built from real diagnoses: masked figures are words, never numbers."""

from __future__ import annotations

import datetime as dt

import pytest

from services.common.contract import DIAGNOSIS
from services.report import csvexport, fmt, view
from services.report.mapplan import Frame
from services.report.mapsvg import MapView, _labels
from services.report.viewcommon import collate

from .conftest import MULTI, TINY

# The http fixture lives on the session loop: async tests run on it.
session_loop = pytest.mark.asyncio(loop_scope="session")

NO_MAP = MapView(
    panels=[],
    overview=None,
    legend=[],
    finess_without_point=0,
    finess_approximate=0,
    missing_contour=[],
    projections=[],
    legend_beside=False,
)


async def fetch(http, url, communes):
    async with http.post(f"{url}/v1/diagnosis", json={"communes": communes}) as resp:
        assert resp.status == 200
        return DIAGNOSIS.decode(await resp.read())


@session_loop
async def test_masked_indicators_are_words_in_the_view(http, aggregate_url):
    d = await fetch(http, aggregate_url, TINY)
    v = view.build(d, NO_MAP, name=None, date=dt.date(2025, 1, 31))
    tables = [v.population, v.access, v.prevention, v.vaccination, *v.prevalence]
    by_label = {r.label: r for t in tables for r in t.rows}
    indicators = d.population.indicators + d.access + d.prevention + d.vaccination + d.prevalences.top5
    masked = [i for i in indicators if i.masked]
    assert masked
    for ind in masked:
        row = by_label[ind.label]
        assert row.masked and row.ter == fmt.MASKED and row.count == ""
        assert row.d_dep == row.d_reg == row.d_fr == fmt.NOT_COMPUTABLE
        assert row.mark  # a note says why
    for ind in indicators:
        if not ind.masked:
            assert by_label[ind.label].ter != fmt.MASKED
    # masked age bands: no bar length, the words instead
    for band, bar in zip(d.population.age_bands, v.age.bars, strict=True):
        if band.masked:
            assert bar.share is None and bar.share_text == fmt.MASKED
    # a profession without any professional has nothing to measure: « sans objet », not a secret
    empty = {a.label for a in d.offer.activity if a.n_ps_total == 0}
    for ratio in v.offer.patients + v.offer.acts:
        if ratio.masked:
            assert ratio.ter == (fmt.NOT_APPLICABLE if ratio.profession in empty else fmt.MASKED)


@session_loop
async def test_partial_rows_carry_a_star_and_name_their_communes(http, aggregate_url):
    d = await fetch(http, aggregate_url, MULTI)
    v = view.build(d, NO_MAP, name="x", date=dt.date(2025, 1, 31))
    names = view.Names(d)
    for table, items in ((v.access, d.access), (v.prevention, d.prevention), (v.vaccination, d.vaccination)):
        for row, ind in zip(table.rows, items, strict=True):
            if ind.partial and not ind.masked:
                assert row.ter.endswith("*")
                note = next(n for n in table.notes if n.startswith(row.mark))
                # the shorter side is named: the neutralised communes, or the kept ones when fewer
                gone = set(ind.neutralised_communes)
                kept = [c.code for c in d.communes if c.code not in gone]
                listed = ind.neutralised_communes if len(gone) <= len(kept) else kept
                n = len(gone)
                assert f"{n} commune{'s' if n > 1 else ''} neutralisée{'s' if n > 1 else ''} sur 6" in note
                for code in listed:
                    assert names(code) in note
            elif not ind.masked:
                assert not row.ter.endswith("*")


def test_french_number_formatting():
    assert fmt.integer(100647) == "100\u202f647"
    assert fmt.rate(10.66, "pct") == "10,7\u202f%"
    assert fmt.rate(13.2, "per100") == "13,2"
    assert fmt.rate(None, "pct") == "secret statistique"
    assert fmt.difference(-0.7) == "\u22120,7" and fmt.difference(1.4) == "+1,4"
    assert fmt.difference(0.02) == "0,0" and fmt.difference(None) == "–"
    assert fmt.euros(220000) == "220\u202f000\u202f€" and fmt.euros(None) == "non publié"
    assert fmt.date_long(dt.date(2025, 1, 31)) == "31 janvier 2025"


def test_csv_cells_cannot_become_formulas():
    assert csvexport._text('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert csvexport._text("+33") == "'+33" and csvexport._text("@a") == "'@a"
    assert csvexport._text("Saint-Jeannet") == "Saint-Jeannet"


def test_collation_ignores_accents_and_case():
    names = ["Gréasque", "Gémenos", "Éguilles", "Eyguières", "gardanne"]
    assert sorted(names, key=collate) == ["Éguilles", "Eyguières", "gardanne", "Gémenos", "Gréasque"]


def _frame() -> Frame:
    """A 100 × 100 mm panel over 100 × 100 km: 1 mm of the page is 1 km."""
    return Frame(epsg=2154, minx=0, miny=0, maxx=100_000, maxy=100_000, codes=[], departements=[],
                 width_mm=100, height_mm=100)  # fmt: skip


def test_map_names_keep_air_between_them() -> None:
    # At 6 pt, « Gardanne » and « Fuveau » 8 mm apart would be set edge to edge (« GardanneFuveau »): the
    # second one gets a number instead.
    names = {"a": "Gardanne", "b": "Fuveau"}
    points = {"a": (50_000.0, 50_000.0), "b": (58_000.0, 50_000.0)}
    labels, key = _labels(_frame(), ["a", "b"], names, points, {"a": 2, "b": 1}, 0, 6.0)
    assert [lb.text for lb in labels] == ["Gardanne", "1"] and [k.text for k in key] == ["Fuveau"]
    # far enough apart, both names print
    points["b"] = (62_000.0, 50_000.0)
    labels, key = _labels(_frame(), ["a", "b"], names, points, {"a": 2, "b": 1}, 0, 6.0)
    assert [lb.text for lb in labels] == ["Gardanne", "Fuveau"] and key == []


def test_map_names_are_not_written_over_numbers() -> None:
    # « c » takes the middle, « d » (just under it) gets number 1, « e » (under that number) would cover it.
    names = {"c": "Commune au nom assez long", "d": "Dé", "e": "Eé"}
    points = {"c": (50_000.0, 50_000.0), "d": (50_000.0, 47_500.0), "e": (50_000.0, 45_000.0)}
    labels, key = _labels(_frame(), list(names), names, points, {"c": 3, "d": 2, "e": 1}, 0, 6.0)
    assert [lb.text for lb in labels] == ["Commune au nom assez long", "1", "2"], labels
    assert [k.text for k in key] == ["Dé", "Eé"]
