"""Publishing counts so that no small number shows, alone or worked out from others.

A count from 1 to k-1 is published as the string "<k"; 0 is published as 0 (nobody). A
total (over months, over regions, or a column that sums others) is published only when
none of the counts it adds up is small: then no published figure is an equation with a
small count in it, so none can be worked out from totals, however they are combined. The
price is withheld totals (None) where the numbers are small; a property test checks the
promise against every combination of published figures (tests/test_statistics.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

Figure = int | str | None  # a count, "<k", or None: withheld so a small count stays hidden
Cell = tuple[str, str]  # (region code, month "YYYY-MM")


@dataclass
class Measure:
    """Counts by region, month and column. `total` names a column that is the sum of the
    others; `over_regions` is False where one thing counts in several regions (a member of
    two regions), so a sum over regions would mean nothing."""

    name: str
    columns: tuple[str, ...]
    counts: dict[Cell, dict[str, int]] = field(default_factory=dict)
    total: str | None = None
    over_regions: bool = True

    def add(self, region: str, month: str, column: str, n: int = 1) -> None:
        row = self.counts.setdefault((region, month), {})
        row[column] = row.get(column, 0) + n

    @property
    def parts(self) -> tuple[str, ...]:
        """The columns counted directly (every column but the total)."""
        return tuple(c for c in self.columns if c != self.total)

    def value(self, cell: Cell, column: str) -> int:
        row = self.counts.get(cell, {})
        if column == self.total:
            return sum(row.get(c, 0) for c in self.parts)
        return row.get(column, 0)


@dataclass(frozen=True)
class Published:
    """One measure as published: each row's figures, and the totals that could be shown."""

    name: str
    columns: tuple[str, ...]
    rows: list[tuple[str, str, dict[str, Figure]]]  # (region, month, figures), non-zero rows
    by_region: list[tuple[str, dict[str, Figure]]]  # over the months
    by_month: list[tuple[str, dict[str, Figure]]]  # over the regions ([] if not over_regions)
    overall: dict[str, Figure]  # over both ({} if not over_regions)


def small_mark(k: int) -> str:
    return f"<{k}"


def is_small(n: int, k: int) -> bool:
    return 0 < n < k


def publish(
    measure: Measure, *, k: int, regions: Iterable[str], months: Iterable[str]
) -> Published:
    """The measure with every small count hidden and every total that would reveal one
    withheld."""
    regions, months = list(regions), list(months)

    def figure(cells: list[Cell], column: str) -> Figure:
        """The sum of `column` over `cells`: shown only if none of the directly counted
        numbers under it is small (a single cell's small count shows as "<k")."""
        parts = measure.parts if column == measure.total else (column,)
        base = [measure.value(cell, part) for cell in cells for part in parts]
        if len(base) == 1 and is_small(base[0], k):
            return small_mark(k)
        return None if any(is_small(n, k) for n in base) else sum(base)

    def figures(cells: list[Cell]) -> dict[str, Figure]:
        return {column: figure(cells, column) for column in measure.columns}

    rows = [
        (region, month, figures([(region, month)]))
        for region in regions
        for month in months
        if any(measure.value((region, month), c) for c in measure.parts)
    ]
    by_region = [(r, figures([(r, m) for m in months])) for r in regions]
    by_month: list[tuple[str, dict[str, Figure]]] = []
    overall: dict[str, Figure] = {}
    if measure.over_regions:
        by_month = [(m, figures([(r, m) for r in regions])) for m in months]
        overall = figures([(r, m) for r in regions for m in months])
    return Published(measure.name, measure.columns, rows, by_region, by_month, overall)
