"""Arrangement of a scattered territory's map panels on the page: rows of panels that fill the map's space.

Each part of the territory has a natural shape (the height/width ratio of its padded extent). Panels go in
rows of one to three, in the plan's order (largest population first, the locator map of metropolitan France
last); the panels of a row share one height, rows are stacked under « La carte ». Every way of cutting the
sequence into rows is tried (at most MAX_PANELS parts and the locator map: a few dozen ways) and the one that
draws the parts largest wins: the sum of the logarithms of their areas, so that no part is shrunk to a stamp
to enlarge another. A panel left narrower than its row is then widened (more context around it) until the
row fills the text width: a territory in two far-apart parts (Corse-du-Sud and La Réunion, two DOM) is two
stacked panels each filling its space, never two small drawings beside empty paper.
"""

from __future__ import annotations

import itertools
import math

import msgspec

WIDTH_MM = 178.0  # the text width of the A4 page (report.typ: 210 mm - 2 x 16 mm)
# Panels, their titles and the gutters between rows, under the heading and the « N parties disjointes » line,
# with the legend, the numbered-label keys and the note still on the same page.
HEIGHT_MM = 160.0
GUTTER_MM = 4.0
TITLE_MM = 5.5  # a panel's title line and the space under it (lib.typ map-panel)
MAX_PER_ROW = 3
MIN_RATIO = 0.28  # a panel is widened no further: beyond, it would show mostly context
OVERVIEW_WIDTH_MM = 60.0  # the locator map is a small reference of a fixed size, never a panel's rival
OVERVIEW_RATIO = 0.93  # height / width of metropolitan France (Corsica included) in Lambert-93, padded


class Cell(msgspec.Struct, frozen=True):
    """Where one panel goes: its row (0 = top) and its size on paper."""

    row: int
    width_mm: float
    height_mm: float


def _row(ratios: list[float], fixed: list[float | None]) -> float:
    """The common height of a row's panels at their natural shapes, the row filling WIDTH_MM; items of a
    fixed width (the locator map) take theirs first."""
    free = WIDTH_MM - GUTTER_MM * (len(ratios) - 1) - sum(w for w in fixed if w is not None)
    inverse = sum(1 / r for r, w in zip(ratios, fixed, strict=True) if w is None)
    return free / inverse if inverse else 0.0


def _compositions(n: int) -> list[list[int]]:
    """Every way of cutting n items (in order) into rows of 1..MAX_PER_ROW."""
    out = []
    for rows in range(1, n + 1):
        for sizes in itertools.product(range(1, MAX_PER_ROW + 1), repeat=rows):
            if sum(sizes) == n:
                out.append(list(sizes))
    return out


def _layout(ratios: list[float], fixed: list[float | None], sizes: list[int]) -> tuple[float, list[Cell]]:
    """The cells of one way of cutting into rows, scaled to the height budget and widened; its score."""
    bounds = list(itertools.accumulate(sizes, initial=0))
    rows = [range(a, b) for a, b in itertools.pairwise(bounds)]
    heights = [_row([ratios[i] for i in r], [fixed[i] for i in r]) for r in rows]
    floors = [max(((fixed[i] or 0.0) * ratios[i] for i in r), default=0.0) for r in rows]
    room = HEIGHT_MM - TITLE_MM * len(rows) - GUTTER_MM * (len(rows) - 1)
    # One scale for every row's panels; a row as tall as its locator map does not shrink below it.
    scale = 1.0
    for _ in range(len(rows) + 1):
        held = [j for j in range(len(rows)) if floors[j] >= heights[j] * scale]
        free = sum(h for j, h in enumerate(heights) if j not in held)
        if not free:
            break
        scale = min(1.0, max(room - sum(floors[j] for j in held), 0.0) / free)
    cells: list[Cell] = []
    score = 0.0
    for n, r in enumerate(rows):
        h = heights[n] * scale
        ws = {i: fixed[i] or h / ratios[i] for i in r}
        score += sum(math.log(ws[i] * h) for i in r if fixed[i] is None)
        # Widen the panels (never the locator map) to fill the row, none beyond MIN_RATIO.
        for _ in range(len(r)):  # a panel reaching its limit hands the rest to the others
            leftover = WIDTH_MM - GUTTER_MM * (len(r) - 1) - sum(ws.values())
            open_ = [i for i in r if fixed[i] is None and ws[i] < h / MIN_RATIO - 1e-6]
            if leftover <= 1e-6 or not open_:
                break
            share = sum(ws[i] for i in open_)
            for i in open_:
                ws[i] = min(ws[i] + leftover * ws[i] / share, h / MIN_RATIO)
        cells += [Cell(row=n, width_mm=ws[i], height_mm=ws[i] * ratios[i] if fixed[i] else h) for i in r]
    return score, cells


def arrange(ratios: list[float], overview: bool) -> tuple[list[Cell], Cell | None]:
    """Cells of the panels (natural height/width ratios, in order) and of the locator map if there is one."""
    all_ratios = [*ratios, *([OVERVIEW_RATIO] if overview else [])]
    fixed: list[float | None] = [None] * len(ratios) + ([OVERVIEW_WIDTH_MM] if overview else [])
    best: tuple[float, int, list[Cell]] | None = None
    for sizes in _compositions(len(all_ratios)):
        score, cells = _layout(all_ratios, fixed, sizes)
        # The largest drawing wins; between equals, fewer rows (a tie is kept in enumeration order).
        if best is None or score > best[0] + 1e-9:
            best = (score, len(sizes), cells)
    assert best is not None
    cells = best[2]
    return cells[: len(ratios)], (cells[-1] if overview else None)
