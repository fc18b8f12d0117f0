"""What the report a CPTS hands to its ARS must say, checked on the PDF's text (pdftotext / pdfinfo).

Four selections: the seed report's 13 communes, 100 communes, a multi-région overseas territory and a
one-commune tiny territory. Every page of each is kept as PNG under tests/artifacts/report/ for a person to
look at. Figures are read from the diagnosis the aggregate service publishes, never recomputed here.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import tempfile
from collections.abc import Callable

import aiohttp
import asyncpg
import pytest

from services.common.contract import DIAGNOSIS, Diagnosis, Indicator
from services.report.viewcommon import Names

from .conftest import TINY, flat, page_count, pdf_text, render_pages

pytestmark = [pytest.mark.usefixtures("poppler"), pytest.mark.asyncio(loop_scope="session")]

# The seed report's territory (Bouches-du-Rhône, around Gardanne): 13 communes, about 100 000 inhabitants.
SEED = [
    "13015", "13019", "13025", "13040", "13041", "13046", "13060",
    "13062", "13072", "13079", "13087", "13107", "13110",
]  # fmt: skip
# Ajaccio (Corse-du-Sud, Corse) and Saint-Denis (La Réunion): two régions, two départements, two projections.
OVERSEAS = ["2A004", "97411"]
INTERNAL = [
    "à vérifier", "à confirmer", "montant à vérifier", "attesté par un contrat", "source presse",
    "Taille 3 (Taille",
]  # fmt: skip
ISO_DATE = re.compile(r"\b(19|20)\d\d-\d\d-\d\d\b")
_cache: dict[tuple, tuple[Diagnosis, bytes]] = {}
_lock = asyncio.Lock()


async def diagnosis(http: aiohttp.ClientSession, url: str, communes: list[str], ald: list[str]) -> Diagnosis:
    async with http.post(f"{url}/v1/diagnosis", json={"communes": communes, "ald": ald}) as resp:
        assert resp.status == 200, await resp.text()
        return DIAGNOSIS.decode(await resp.read())


async def made(
    http, aggregate_url, report_url, artifacts_dir, stem, communes, **body
) -> tuple[Diagnosis, bytes]:
    """The diagnosis and the PDF of a selection (once per session), all its pages kept as PNG."""
    key = (stem, tuple(communes))
    async with _lock:
        if key not in _cache:
            d = await diagnosis(http, aggregate_url, communes, body.get("ald", []))
            async with http.post(
                f"{report_url}/v1/report.pdf", json={"communes": communes, "date": "2025-01-31", **body}
            ) as resp:
                pdf = await resp.read()
                assert resp.status == 200, pdf[:500]
            render_pages(pdf, artifacts_dir / "report", stem, last=page_count(pdf))
            _cache[key] = (d, pdf)
    return _cache[key]


def pdfinfo(pdf: bytes, *args: str) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        return subprocess.run(["pdfinfo", *args, f.name], check=True, capture_output=True).stdout.decode()


def check_wording(text: str) -> None:
    """No internal remark, no ISO date in prose, the ACI reference named."""
    for remark in INTERNAL:
        assert remark not in text, remark
    assert not ISO_DATE.search(text), ISO_DATE.search(text)
    assert "arrêté du 21 août 2019" in text and "SSAS1924409A" in text
    assert "taille 3 (Taille" not in text and "(Taille" not in text


def check_accessible(pdf: bytes, title_part: str) -> None:
    """Tagged PDF/UA-1 with its title and language."""
    info = pdfinfo(pdf)
    assert re.search(r"^Tagged:\s+yes", info, re.M), info
    assert re.search(r"^Title:\s+Diagnostic territorial", info, re.M) and title_part in info, info
    meta = pdfinfo(pdf, "-meta")
    assert "pdfuaid:part" in meta and re.search(r"pdfuaid:part(>|=\")1", meta), meta[:2000]
    assert "fr" in re.search(r"<dc:language>.*?</dc:language>", meta, re.S).group(0)


NUMBERED_HEADING = re.compile(r"^\s*\d+(\.\d+)?\s+[A-ZÉÈÀ][^\d]{3,}$")


def check_no_orphan_heading(pdf: bytes) -> None:
    """No numbered heading among the last two lines of a page's body (above the running footer)."""
    for n, page in enumerate(pdf_text(pdf, layout=True).split("\f"), 1):
        body = [
            ln
            for ln in page.splitlines()
            if ln.strip() and "Généré le" not in ln and "Rézone CPTS — diagnostic" not in ln
        ]
        orphans = [ln.strip() for ln in body[-2:] if NUMBERED_HEADING.match(ln)]
        assert not orphans, (n, orphans)


def table_rows_per_page(pdf: bytes, heading: str, end: str, is_row: Callable[[str], bool]) -> list[int]:
    """Rows of one table on each page it spans (pages without any left out): the lines `is_row` accepts
    between the numbered `heading` (not its line in the contents) and the first line starting with `end`."""
    pages = pdf_text(pdf, layout=True).split("\f")
    title = re.compile(rf"^\d+(\.\d+)*\s+{re.escape(heading)}$")
    counts: list[int] = []
    inside = done = False
    for page in pages:
        n = 0
        for line in (ln.strip() for ln in page.splitlines()):
            if not inside:
                inside = bool(title.match(line))
            elif line.startswith(end):
                done = True
                break
            elif is_row(line):
                n += 1
        if n:
            counts.append(n)
        if done:
            break
    assert inside and done, (heading, end)
    return counts


def check_no_table_tail(pdf: bytes, d: Diagnosis) -> None:
    """The territory table (one row per commune) never leaves its first or last one or two rows alone on a
    page; every row is found, so a row the check misses fails it too."""
    codes = {c.code for c in d.communes}
    code = re.compile(r"(?<![0-9A-Z])([0-9][0-9AB][0-9]{3})(?![0-9])")

    def territory_row(line: str) -> bool:
        return line.startswith("Total :") or any(m in codes for m in code.findall(line))

    counts = table_rows_per_page(pdf, "Communes retenues", "Zonage médecins :", territory_row)
    assert sum(counts) == len(codes) + 1, counts
    if len(counts) > 1:
        assert counts[0] >= 3 and counts[-1] >= 3, counts


def check_activity(text: str, d: Diagnosis) -> None:
    """Per profession, every commune with professionals and their number, among the counted or the
    neutralised communes as the diagnosis says; a profession without any is only in the summaries."""
    if not d.offer.activity:
        return
    names = Names(d)
    start = text.index("une commune absente de la liste")
    part = text[start : text.index("Patients par professionnel", start)]
    heads = {}
    for a in d.offer.activity:
        present = [c for c in a.communes if c.n_ps > 0]
        head = f"{a.label} — {len(present)} commune{'s' if len(present) > 1 else ''}."
        assert (head in part) == bool(present), (head, part[:2000])
        if present:
            heads[part.index(head)] = (head, present)
    bounds = sorted(heads) + [len(part)]
    for i, at in enumerate(bounds[:-1]):
        head, present = heads[at]
        block = part[at : bounds[i + 1]]
        # pdftotext drops the hyphen of a name broken at the end of a line (« Gignac-la-⏎Nerthe »):
        # names are compared without hyphens.
        kept, _, neutralised = block.replace("-", "").partition("Neutralisées :")
        for c in present:
            entry = f"{flat(names(c.code))} ({c.n_ps})".replace("-", "")
            assert entry in (kept if c.counted else neutralised), (head, entry, block)


def section(text: str, start: str, end: str) -> str:
    """The flattened text between two headings (first occurrence after the table of contents)."""
    i = text.index(start, text.index("La carte") + 1)
    return text[i : text.index(end, i)]


def weights_text(ind: Indicator) -> str:
    ws = ", ".join(f"{w.nom} {round(100 * w.weight)} %" for w in ind.comparisons.departement.weights)
    return f"Dép. † pondéré : {ws}"


async def test_seed_selection(http, report_url, aggregate_url, artifacts_dir, database_url):
    first = await diagnosis(http, aggregate_url, SEED, [])
    top5 = {i.id for i in first.prevalences.top5}
    targeted = [r.id for r in first.prevalences.catalogue if r.id not in top5][:2]
    d, pdf = await made(
        http,
        aggregate_url,
        report_url,
        artifacts_dir,
        "seed-13",
        SEED,
        name="CPTS du pays d'Aix",
        ald=targeted,
    )
    text = flat(pdf_text(pdf))
    check_wording(text)
    check_accessible(pdf, "CPTS du pays d")
    check_no_orphan_heading(pdf)
    check_no_table_tail(pdf, d)
    check_activity(text, d)
    # targeted ALD reach the PDF
    assert "ALD ciblées à votre demande" in text
    for ref in d.prevalences.requested:
        assert ref.label in text
    # « consommant » defined, INSEE vs Assurance Maladie caveat, census year
    assert "Consommant : personne qui a eu au moins un soin remboursé" in text
    assert "ne se comparent pas directement" in text and "millésime 2017" in text
    # base rows: the populations the indicators are computed on, with what the diagnosis publishes
    bases = section(text, "Populations de référence", "Accès aux soins")
    consumers = [i for i in d.population.indicators + d.access if "consomm" in i.denominator_label.lower()]
    assert any("17 ans et plus" in i.denominator_label for i in consumers)
    for ind in consumers:
        label = ind.denominator_label[0].upper() + ind.denominator_label[1:]
        assert label in bases
        if ind.denominator is not None:  # printed as published (flat() turns the narrow space into a space)
            assert f"{ind.denominator:,}".replace(",", " ") in bases
    # QPV: codes and names, and their own mark (not the partial-value « * »)
    conn = await asyncpg.connect(database_url)
    try:
        qpv = await conn.fetch(
            "SELECT code, nom FROM ref.qpv WHERE code = any($1::text[])", d.territory.qpv_codes
        )
    finally:
        await conn.close()
    assert len(qpv) == d.territory.qpv_count > 0
    for q in qpv:
        assert q["code"] in text and flat(q["nom"]) in text
    assert f"{d.territory.qpv_count}‡" in text and f"{d.territory.qpv_count} QPV*" not in text
    # patients per professional as integers (the seed's form)
    patients = section(text, "Patients par professionnel", "Actes et coefficients")
    assert not re.search(r"\d,\d", patients), patients
    # pictures: dot charts of access and prevention, professionals per 10 000 inhabitants
    assert "Accès aux soins : le territoire et ses références" in text
    assert "Prévention : le territoire et ses références" in text and "pt vs France" in text
    # professionals per 10 000 inhabitants against the references: each category's territory density and
    # its difference to France as the diagnosis publishes them
    densities = section(text, "Professionnels pour 10 000 habitants", "Activité")
    assert "Territoire Département Région France" in densities and "Écart Fr." in densities
    for x in d.offer.densities:
        c = x.comparisons
        assert x.value is not None and c.france.difference is not None
        printed = [x.value, c.departement.value, c.region.value, c.france.value]
        diff = c.france.difference
        gap = "0,0" if abs(diff) < 0.05 else f"{diff:+.1f}".replace("-", "−")
        row = " ".join(f"{v:.1f}" for v in printed) + f" {gap}"
        # pdftotext may put a label apart from its row of figures: both are checked, the figures in order
        assert x.label in densities and row.replace(".", ",") in densities, x.label
    # centres de santé by the five e-CDS types, in the seed's order
    labels = [g.label for g in d.offer.centres_de_sante]
    assert labels == [
        "Centres de santé dentaires",
        "Centres de santé infirmiers",
        "Centres de santé médicaux",
        "Centres de santé non typés (e-CDS ATIH)",
        "Centres de santé polyvalents",
    ]
    centres = section(text, "Centres de santé par type", "Source :")
    assert [lb for lb in labels if lb in centres] == labels


async def test_hundred_communes_notes_stay_readable(http, report_url, aggregate_url, artifacts_dir, hundred):
    d, pdf = await made(http, aggregate_url, report_url, artifacts_dir, "cent-communes", hundred, name="Cent")
    text = flat(pdf_text(pdf))
    check_wording(text)
    check_accessible(pdf, "Cent")
    check_no_orphan_heading(pdf)
    check_no_table_tail(pdf, d)
    check_activity(text, d)
    pops = {c.code: c.population or 0 for c in d.communes}
    total = sum(pops.values())
    partial = [i for i in d.access + d.prevention + d.vaccination if i.partial and not i.masked]
    assert partial
    for ind in partial:
        n = len(ind.neutralised_communes)
        assert f"{n} commune{'s' if n > 1 else ''} neutralisée{'s' if n > 1 else ''} sur 100" in text
        kept = 100 - n
        assert f"valeur calculée sur {kept} commune" in text
        kept_share = 100 * (total - sum(pops[c] for c in ind.neutralised_communes)) / total
        if kept_share < 50:
            assert "la valeur ne représente qu’une minorité du territoire" in text
    # notes never list more than 12 names: each partial note stays a few lines long
    for note in re.findall(r"\(\d+\) Valeur partielle : .*?\.(?= \(\d+\)|\s*Sources?|\s*†)", text):
        assert len(note) < 900, note
    # the cover alert lists whole names, then « et N autres »
    cover = flat(pdf_text(pdf, first=1, last=1))
    assert "…" not in cover
    in_cpts = [c for c in d.communes if c.cpts]
    if len(in_cpts) > 12:
        assert re.search(r"et \d+ autres \(voir le tableau des communes\)", cover), cover
    assert 8 <= page_count(pdf) <= 45


async def test_overseas_multi_region_weights(http, report_url, aggregate_url, artifacts_dir):
    d, pdf = await made(http, aggregate_url, report_url, artifacts_dir, "overseas-2a-974", OVERSEAS)
    text = flat(pdf_text(pdf))
    check_wording(text)
    check_no_orphan_heading(pdf)
    check_no_table_tail(pdf, d)
    check_activity(text, d)
    weighted = [
        i for i in d.access + d.prevention if i.comparisons.departement.weighted and i.value is not None
    ]
    assert weighted, "two départements: the comparators are weighted"
    found = {weights_text(i) for i in weighted}
    assert any(w in text for w in found), (found, text[:3000])
    assert "Corse-du-Sud" in text and "La Réunion" in text
    assert "Rég. † pondérée :" in text
    assert "EPSG:2975" in text
    # two far-apart parts: stacked panels each filling the text width, with the legend on the same page
    pages = [pdf_text(pdf, first=n, last=n, layout=True) for n in range(1, page_count(pdf) + 1)]
    map_page = next(p for p in pages if "Légende" in p)
    lines = map_page.splitlines()
    first = next(i for i, ln in enumerate(lines) if "1. Corse-du-Sud (2A)" in ln)
    second = next(i for i, ln in enumerate(lines) if "2. La Réunion (974)" in ln)
    legend = next(i for i, ln in enumerate(lines) if "Légende" in ln)
    assert first < second < legend and "La Réunion" not in lines[first], (first, second)


async def test_tiny_territory_sans_objet(http, report_url, aggregate_url, artifacts_dir):
    d, pdf = await made(http, aggregate_url, report_url, artifacts_dir, "tiny-1", TINY)
    text = flat(pdf_text(pdf))
    check_wording(text)
    check_no_orphan_heading(pdf)
    check_no_table_tail(pdf, d)
    check_activity(text, d)
    layout = pdf_text(pdf, layout=True)
    empty = [a for a in d.offer.activity if a.n_ps_total == 0]
    for a in empty:
        assert f"{a.label} : aucun professionnel sur le territoire (sans objet)" in text
        rows = [ln for ln in layout.splitlines() if ln.strip().startswith(a.label)]
        # the territory cell (first after the label) says there is nothing to measure; the comparators
        # beside it are the references' own published values (possibly masked there)
        cells = [ln.split(a.label, 1)[1].split()[:2] for ln in rows]
        assert ["sans", "objet"] in cells, rows
        assert all(c[:2] != ["secret", "statistique"] for c in cells), rows
    assert "1 commune" in text


async def test_names_are_safe_and_symbols_print(http, report_url, artifacts_dir):
    # A right-to-left override would display « DRON » reversed; an emoji needs a fallback font.
    name = "CPTS \u202eDRON\u202c Santé 🏥 ✓ \u2067test\u2069"
    async with http.post(
        f"{report_url}/v1/report.pdf", json={"communes": TINY, "name": name, "date": "2025-01-31"}
    ) as resp:
        assert resp.status == 200
        pdf = await resp.read()
    raw = pdf_text(pdf, first=1, last=1)
    assert not re.search("[\u202a-\u202e\u2066-\u2069]", raw)
    assert "CPTS DRON Santé" in flat(raw)
    assert "🏥" in raw and "✓" in raw
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        fonts = subprocess.run(["pdffonts", f.name], check=True, capture_output=True).stdout.decode()
    # the emoji comes from the bundled Noto Color Emoji, whose bitmap glyphs Typst embeds as a Type 3 font
    assert "Type 3" in fonts, fonts
    render_pages(pdf, artifacts_dir / "report", "symbols", last=1)
