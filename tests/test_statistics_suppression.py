"""Small numbers never show in the statistics, alone or worked out from the totals.

A property test on random tables: every published figure is checked against the true
counts, and then, as someone with every published figure would, every assignment of the
hidden counts that agrees with all of them is enumerated: each hidden count must still
have at least two possible values (it cannot be worked out).
"""

from __future__ import annotations

import itertools

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from moderation.statistics.suppression import Cell, Figure, Measure, Published, publish

REGIONS = ("R1", "R2", "R3")
MONTHS = ("2026-01", "2026-02")


@st.composite
def measures(draw: st.DrawFn) -> tuple[Measure, int]:
    k = draw(st.integers(3, 6))
    count = st.one_of(st.just(0), st.integers(1, k - 1), st.integers(k, 40))
    parts = draw(st.integers(1, 3))
    with_total = draw(st.booleans())
    columns = tuple(f"c{i}" for i in range(parts))
    measure = Measure(
        "m",
        (*columns, "total") if with_total else columns,
        total="total" if with_total else None,
        over_regions=draw(st.booleans()),
    )
    for region in REGIONS[: draw(st.integers(1, 3))]:
        for month in MONTHS[: draw(st.integers(1, 2))]:
            for column in columns:
                measure.add(region, month, column, draw(count))
    return measure, k


def equations(
    measure: Measure, published: Published
) -> list[tuple[list[tuple[Cell, str]], Figure]]:
    """Every published figure as (the directly counted numbers it adds up, the figure)."""
    found = []

    def terms(cells: list[Cell], column: str) -> list[tuple[Cell, str]]:
        parts = measure.parts if column == measure.total else (column,)
        return [(cell, part) for cell in cells for part in parts]

    for region, month, figures in published.rows:
        found += [(terms([(region, month)], c), f) for c, f in figures.items()]
    for region, figures in published.by_region:
        found += [(terms([(region, m) for m in MONTHS], c), f) for c, f in figures.items()]
    for month, figures in published.by_month:
        found += [(terms([(r, month) for r in REGIONS], c), f) for c, f in figures.items()]
    found += [
        (terms([(r, m) for r in REGIONS for m in MONTHS], c), f)
        for c, f in published.overall.items()
    ]
    return found


@settings(max_examples=300, deadline=None)
@given(measures())
def test_no_published_figure_alone_or_with_others_gives_a_small_count(
    drawn: tuple[Measure, int],
) -> None:
    measure, k = drawn
    published = publish(measure, k=k, regions=REGIONS, months=MONTHS)
    found = equations(measure, published)
    hidden = sorted(
        {term for terms, figure in found for term in terms if 0 < measure.value(*term) < k}
    )
    # What is shown is true: a count, "<k" for exactly the small single counts, or withheld.
    for terms, figure in found:
        true = sum(measure.value(*term) for term in terms)
        if isinstance(figure, int):
            assert figure == true and (figure == 0 or figure >= k)
        elif figure == f"<{k}":
            assert len(terms) == 1 and 0 < true < k
        else:
            assert figure is None and any(term in hidden for term in terms)
    # Someone holding every figure: which values of the hidden counts fit all of them?
    assume(len(hidden) <= 7)
    known = [(terms, figure) for terms, figure in found if isinstance(figure, int)]
    possible: dict[tuple[Cell, str], set[int]] = {term: set() for term in hidden}
    for guess in itertools.product(range(1, k), repeat=len(hidden)):
        values = dict(zip(hidden, guess, strict=True))
        if all(
            sum(values.get(t, measure.value(*t)) for t in terms) == figure
            for terms, figure in known
        ):
            for term, value in values.items():
                possible[term].add(value)
    for term, values in possible.items():
        assert len(values) >= 2, f"{term} can be worked out: {values}"


def test_a_total_with_a_small_count_under_it_is_withheld_and_zero_shows() -> None:
    measure = Measure("reports", ("published", "rejected", "received"), total="received")
    measure.add("NL-DR", "2026-01", "published", 12)
    measure.add("NL-DR", "2026-01", "rejected", 2)
    measure.add("NL-GR", "2026-01", "published", 7)
    published = publish(measure, k=5, regions=["NL-DR", "NL-GR"], months=["2026-01"])
    rows = {region: figures for region, _, figures in published.rows}
    assert rows["NL-DR"] == {"published": 12, "rejected": "<5", "received": None}
    assert rows["NL-GR"] == {"published": 7, "rejected": 0, "received": 7}
    assert published.overall == {"published": 19, "rejected": None, "received": None}
