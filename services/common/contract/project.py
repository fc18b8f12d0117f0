"""The report service's project-import answer: the selection restored from a file, and what was not."""

from __future__ import annotations

import msgspec


class ProjectIssue(msgspec.Struct, kw_only=True):
    """A code of the file that is not restored as such, with the name the file gave it."""

    code: str
    nom: str | None  # name stored in the file
    reason: str  # "unknown" | "merged" | "not_selectable" | "duplicate"
    message: str  # French, ready to show
    replaced_by: list[str] = []  # PLM arrondissements of a city code, or the commune a merged code joined


class ProjectRenamed(msgspec.Struct, kw_only=True):
    """A restored code whose current name differs from the one stored in the file."""

    code: str
    nom_fichier: str
    nom: str


class ProjectSelection(msgspec.Struct, kw_only=True):
    """`POST /v1/project/import`: the selection restored from a project file."""

    format: str  # "projet" (project file) or "csv" (a CSV export, restorable too)
    format_version: int
    name: str | None
    created_on: str | None
    data_version: str | None  # data version the project was saved with
    current_data_version: str
    outdated: bool  # saved with another data version
    communes: list[str]  # restorable codes, in file order
    issues: list[ProjectIssue]
    renamed: list[ProjectRenamed]
