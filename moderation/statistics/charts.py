"""Bar charts drawn on the server as SVG: no script, no external request, prints as is.

Horizontal bars, one per label, so they read at 360 px and on A4 alike. Only published
figures are drawn: a count as a bar; "<k" as an outlined bar up to k, marked "<k" (its
true length is not known, and must not be); a withheld total as "–" with no bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from moderation.statistics.suppression import Figure

WIDTH = 340
LABEL = 150  # the labels' column: about 22 characters at 11 px
BAR_HEIGHT = 18
GAP = 6
COLOUR = "#0f5f6e"


@dataclass(frozen=True)
class Bar:
    label: str
    figure: Figure


def bar_chart(title: str, bars: list[Bar], *, k: int) -> Markup:
    """An accessible SVG (role img, its title and every figure as text)."""
    known = [b.figure for b in bars if isinstance(b.figure, int)]
    top = max([*known, k, 1])
    room = WIDTH - LABEL - 44  # leaves space for the figure after the bar
    height = len(bars) * (BAR_HEIGHT + GAP) + GAP
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, bar in enumerate(bars):
        y = GAP + i * (BAR_HEIGHT + GAP)
        middle = y + BAR_HEIGHT / 2 + 4
        parts.append(
            f'<text x="{LABEL - 6}" y="{middle:.0f}" text-anchor="end" font-size="11" '
            f'fill="#1f2328">{escape(_short(bar.label))}</text>'
        )
        if isinstance(bar.figure, int):
            length = room * bar.figure / top
            shown = str(bar.figure)
            parts.append(
                f'<rect x="{LABEL}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" '
                f'fill="{COLOUR}"/>'
            )
        elif bar.figure is None:
            length, shown = 0.0, "–"
        else:  # "<k": up to k, outlined, because its length is not known
            length, shown = room * k / top, bar.figure
            parts.append(
                f'<rect x="{LABEL}" y="{y + 0.5}" width="{length:.1f}" height="{BAR_HEIGHT - 1}" '
                f'fill="none" stroke="{COLOUR}" stroke-dasharray="3 2"/>'
            )
        parts.append(
            f'<text x="{LABEL + length + 4:.1f}" y="{middle:.0f}" font-size="11" '
            f'fill="#1f2328">{escape(shown)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text in it is escaped above)


def _short(label: str, most: int = 22) -> str:
    return label if len(label) <= most else label[: most - 1] + "…"
