"""What every importer shares: reading and decoding a source file, the `;` CSV reader that validates every
line before anything is written, and the one-transaction "register the file, replace its rows" step."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import re
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

from ..common.errors import ImportRejected

# A UTF-8 text read as Latin-1 and re-encoded turns "é" into "Ã©": a lead byte followed by a C1/Latin-1
# continuation character. French text never contains that pair, so it is a reliable sign of mojibake.
_MOJIBAKE = re.compile("[\u00c2\u00c3][\u0080-\u00bf]")
# A Latin-1 file once read as UTF-8 with replacement lost its accents for good: each became U+FFFD, and "ï¿½"
# if that text was then double-encoded as well. Neither occurs in a source extraction.
_REPLACED = re.compile("\ufffd|\u00ef\u00bf\u00bd")
_DECIMAL_1 = re.compile(r"[0-9]+(\.[0-9])?")
# A batch of at least this many rows and this share of its table loads with its keys suspended (first load).
BULK_ROWS, BULK_SHARE = 10_000, 0.10
# A source whose new file has fewer than this share of the rows of the previous load is refused unless the
# operator says the shrink is real (`make load ARGS=--accept-shrink`): a file cut short or an extraction
# filtered by mistake must not replace a whole one. Real vintages move by a few per cent (docs/data.md).
MIN_ROW_RATIO = 0.9


@dataclass(frozen=True)
class SourceFile:
    """A file about to be imported and how it is registered in ref.data_sources."""

    source: str  # key in ref.data_sources, e.g. 'finess'
    label: str  # what a person reads next to the figures
    block: str  # the part of the diagnosis it feeds
    path: Path
    is_demo: bool
    sha256: str
    # True while nothing is published yet (first load): nobody reads, so an importer may take locks that would
    # stall the services' reads (see copy_rows). Every later load runs beside live readers and must not.
    rebuilding: bool = False
    # The operator accepts a file much smaller than the previous load's (MIN_ROW_RATIO).
    accept_shrink: bool = False

    @property
    def name(self) -> str:
        """File name as reported in errors and in ref.data_sources."""
        return self.path.name


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of tuples: each collection rescans every
    live tuple, which made building the 1.7 M COPY records several times slower than the parsing itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def decode(name: str, data: bytes) -> tuple[str, str]:
    """Text and encoding of a file: UTF-8 first, Latin-1 as the fallback of historical extractions.

    Refuses a text carrying mojibake (UTF-8 decoded as Latin-1 somewhere upstream) with its line number:
    loading it would print "Ã©" in every name.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = data.decode("latin-1"), "latin-1"
    bad = _MOJIBAKE.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise ImportRejected(
            name, line, f"mojibake {bad.group()!r}: text encoded twice (UTF-8 read as Latin-1)"
        )
    lost = _REPLACED.search(text)
    if lost:
        line = text.count("\n", 0, lost.start()) + 1
        raise ImportRejected(
            name,
            line,
            f"replacement character {lost.group()!r}: characters lost upstream "
            "(a Latin-1 file decoded as UTF-8 with replacement)",
        )
    return text, encoding


def split_lines(name: str, text: str) -> list[str]:
    """Lines without their terminator (LF or CRLF); a final newline is optional, an empty line is an error."""
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if not line:
            raise ImportRejected(name, number, "empty line")
    return lines


# Field parsers: each returns the value or raises ValueError with a reason a person can act on.


def natural(text: str) -> int:
    """A count: digits only."""
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"{text!r} is not a non-negative integer")
    return int(text)


def optional_natural(text: str) -> int | None:
    """A count, or empty for 'not applicable'."""
    return None if text == "" else natural(text)


def decimal_1(text: str) -> Decimal:
    """A non-negative quantity with at most one decimal, '.' as separator."""
    if not _DECIMAL_1.fullmatch(text):
        raise ValueError(f"{text!r} is not a non-negative number with at most one decimal ('.' separator)")
    return Decimal(text)


def non_empty(text: str) -> str:
    """A free text that must be present."""
    if not text.strip():
        raise ValueError("empty")
    return text.strip()


def one_of(*allowed: str) -> Callable[[str], str]:
    """A code from a closed list."""

    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"{text!r} not in {', '.join(allowed)}")
        return text

    return parse


def member_of(allowed: set[str] | frozenset[str], what: str) -> Callable[[str], str]:
    """A code that must exist in a reference set (communes, indicators…)."""

    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"unknown {what} {text!r}")
        return text

    return parse


def matching(pattern: str, what: str) -> Callable[[str], str]:
    """A code with a fixed shape."""
    compiled = re.compile(pattern)

    def parse(text: str) -> str:
        if not compiled.fullmatch(text):
            raise ValueError(f"{text!r} is not a valid {what}")
        return text

    return parse


@dataclass(frozen=True)
class Column:
    """One CSV column: header name and parser."""

    name: str
    parse: Callable[[str], object]


def read_csv(file: SourceFile, columns: Sequence[Column]) -> list[tuple[Any, ...]]:
    """Every line of a `;` CSV with the exact header, parsed; the first bad line rejects the whole file."""
    text, _ = decode(file.name, file.path.read_bytes())
    lines = split_lines(file.name, text)
    expected = ";".join(c.name for c in columns)
    if not lines or lines[0] != expected:
        raise ImportRejected(file.name, 1, f"header must be {expected!r}")
    width = len(columns)
    parsers = [c.parse for c in columns]
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    with gc_paused():
        for number, line in enumerate(lines[1:], start=2):
            fields = line.split(";")
            if len(fields) != width:
                raise ImportRejected(file.name, number, f"{len(fields)} fields, expected {width}")
            try:
                append(tuple([parse(field) for parse, field in zip(parsers, fields, strict=True)]))
            except ValueError as exc:
                column = columns[_failing_column(parsers, fields)].name
                raise ImportRejected(file.name, number, f"{column}: {exc}") from None
    return rows


def _failing_column(parsers: Sequence[Callable[[str], object]], fields: Sequence[str]) -> int:
    for index, (parse, field) in enumerate(zip(parsers, fields, strict=True)):
        try:
            parse(field)
        except ValueError:
            return index
    return 0


def single_value(file: SourceFile, rows: Sequence[tuple[Any, ...]], index: int, what: str) -> object:
    """The value a column must share on every row (a period, a month); the first deviant line is refused."""
    if not rows:
        raise ImportRejected(file.name, None, "no data line")
    first = rows[0][index]
    for number, row in enumerate(rows, start=2):
        if row[index] != first:
            raise ImportRejected(
                file.name, number, f"{what} {row[index]!r} differs from the first line's {first!r}"
            )
    return first


def check_unique(
    file: SourceFile, rows: Sequence[tuple[Any, ...]], key: Callable[[tuple[Any, ...]], object], what: str
) -> None:
    """Refuse the second line carrying an already seen key."""
    seen: set[object] = set()
    for number, row in enumerate(rows, start=2):
        k = key(row)
        if k in seen:
            raise ImportRejected(file.name, number, f"duplicate {what} {k!r}")
        seen.add(k)


async def selectable_communes(conn: asyncpg.Connection) -> frozenset[str]:
    """Codes of the units health data are published on (COM except PLM cities, plus arrondissements)."""
    return frozenset(r["code"] for r in await conn.fetch("SELECT code FROM ref.communes WHERE selectable"))


async def copy_rows(
    conn: asyncpg.Connection,
    table: str,
    columns: Sequence[str],
    records: Sequence[tuple[Any, ...]],
    *,
    file: SourceFile,
) -> None:
    """Replace `file`'s rows of `table` by `records` (DELETE then COPY) inside the caller's transaction.

    On a first load (`file.rebuilding`: nothing is published, nobody reads) a batch that is a large part of
    its table loads with its keys dropped and re-added with their exact definitions: one sort instead of
    1.7 M B-tree insertions, and one join per foreign key instead of one trigger query per row (DCIR
    indicators ~45 s -> ~8 s). Every later load runs inside the one transaction that publishes it, beside
    live readers: dropping a key would hold an exclusive lock on the table (and, for a foreign key, on
    ref.communes) until that commit and stall every diagnosis, so the keys stay and rows go in one by one.
    Any failure rolls the DDL back with the rest; the re-added keys still refuse a duplicate or an unknown
    code. A primary key another table references stays.
    """
    schema, name = table.split(".")
    await conn.execute(f"DELETE FROM {table} WHERE source = $1", file.source)
    others = await conn.fetchval(f"SELECT count(*) FROM {table}")
    if not file.rebuilding or len(records) < BULK_ROWS or len(records) < BULK_SHARE * (others + len(records)):
        await conn.copy_records_to_table(name, schema_name=schema, records=records, columns=list(columns))
        return
    keys = await conn.fetch(
        """
        SELECT c.conname, pg_get_constraintdef(c.oid) AS definition FROM pg_constraint c
        WHERE c.conrelid = $1::regclass
          AND (c.contype = 'f'
               OR c.contype IN ('p', 'u') AND NOT EXISTS (
                   SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.confrelid = c.conrelid))
        ORDER BY c.contype = 'f' DESC, c.conname""",
        table,
    )
    for key in keys:  # foreign keys first
        await conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{key["conname"]}"')
    await conn.copy_records_to_table(name, schema_name=schema, records=records, columns=list(columns))
    for key in reversed(keys):  # primary and unique keys first
        await conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{key["conname"]}" {key["definition"]}')


async def replace_source(
    conn: asyncpg.Connection,
    file: SourceFile,
    *,
    vintage: str,
    row_count: int,
    write: Callable[[asyncpg.Connection], Awaitable[None]],
) -> None:
    """Register the file and swap its rows (a savepoint of the load's transaction): any failure keeps the
    previous data, and nothing of it is visible to readers before the whole load publishes."""
    await check_shrink(conn, file, row_count)
    async with conn.transaction():
        await conn.execute(
            """
            INSERT INTO ref.data_sources
                (source, label, block, vintage, is_demo, file_name, sha256, row_count)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (source) DO UPDATE SET label = EXCLUDED.label, block = EXCLUDED.block,
                vintage = EXCLUDED.vintage, is_demo = EXCLUDED.is_demo, file_name = EXCLUDED.file_name,
                sha256 = EXCLUDED.sha256, row_count = EXCLUDED.row_count, loaded_at = now()""",
            file.source,
            file.label,
            file.block,
            vintage,
            file.is_demo,
            file.name,
            file.sha256,
            row_count,
        )
        await write(conn)


async def check_shrink(conn: asyncpg.Connection, file: SourceFile, row_count: int) -> None:
    """Refuse a file with far fewer rows than the previous load of its source, unless told to accept it."""
    previous = await conn.fetchval("SELECT row_count FROM ref.data_sources WHERE source = $1", file.source)
    if file.accept_shrink or not previous or row_count >= MIN_ROW_RATIO * previous:
        return
    with file.path.open("rb") as fh:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    raise ImportRejected(
        file.name,
        lines,
        f"{row_count} rows where the previous load had {previous} (less than {MIN_ROW_RATIO:.0%}); the file "
        "ends here: cut short? If the shrink is real, load it with --accept-shrink",
    )
