"""INSEE's rules for place names (services/common/toponyms.py), on real names of each TNCC class."""

from __future__ import annotations

import datetime as dt

import pytest

from services.common.toponyms import name_de, official_name, sort_key, successor_message


@pytest.mark.parametrize(
    ("nom", "tncc", "official", "de"),
    [
        ("Ajaccio", 1, "Ajaccio", "d'Ajaccio"),
        ("Bastia", 0, "Bastia", "de Bastia"),
        ("Havre", 2, "Le Havre", "du Havre"),
        ("Rochelle", 3, "La Rochelle", "de La Rochelle"),
        ("Mées", 4, "Les Mées", "des Mées"),
        ("Isle-sur-la-Sorgue", 5, "L'Isle-sur-la-Sorgue", "de L'Isle-sur-la-Sorgue"),
        ("Marais", 6, "Aux Marais", "des Marais"),
        ("Masos", 8, "Los Masos", "de Los Masos"),
        ("Le Vernet-Chaméane", 0, "Le Vernet-Chaméane", "du Vernet-Chaméane"),  # article INSEE left in
        ("Abergement-Clémenciat", "5", "L'Abergement-Clémenciat", "de L'Abergement-Clémenciat"),
    ],
)
def test_commune_names(nom, tncc, official, de):
    assert official_name(nom, tncc) == official
    assert name_de(nom, tncc) == de


@pytest.mark.parametrize(
    ("nom", "tncc", "de"),
    [
        ("Nord", 2, "du Nord"),
        ("Ain", 5, "de l'Ain"),
        ("Guadeloupe", 3, "de la Guadeloupe"),
        ("Hauts-de-Seine", 4, "des Hauts-de-Seine"),
        ("Île-de-France", 1, "d'Île-de-France"),
        ("Corse", 0, "de Corse"),
    ],
)
def test_departement_and_region_forms_in_lower_case(nom, tncc, de):
    assert name_de(nom, tncc, article_in_name=False) == de


def test_sort_key_ignores_article_accents_case():
    names = [
        "Le Havre",
        "Dieppe",
        "L'Haÿ-les-Roses",
        "Les Mées",
        "Évreux",
        "La Rochelle",
        "Œuilly",
        "Lacanau",
    ]
    assert sorted(names, key=sort_key) == [
        "Dieppe",
        "Évreux",
        "Le Havre",
        "L'Haÿ-les-Roses",
        "Lacanau",
        "Les Mées",
        "Œuilly",
        "La Rochelle",
    ]
    assert sort_key("Lesparre-Médoc") == "lesparre-medoc"  # « Les » only as a word


def test_unknown_tncc_refused():
    with pytest.raises(ValueError):
        official_name("X", 9)


def test_successor_sentence_dated_only_when_the_data_says():
    args = ("74011", "Annecy-le-Vieux", "74010", "Annecy", "d'Annecy", "COMD")
    assert successor_message(*args, None) == (
        "74011 Annecy-le-Vieux a fusionné dans 74010 Annecy (aujourd'hui commune déléguée d'Annecy)"
    )
    assert successor_message(*args, dt.date(2017, 1, 1)).startswith(
        "74011 Annecy-le-Vieux a fusionné dans 74010 Annecy le 1er janvier 2017"
    )
