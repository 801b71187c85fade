"""Charts as inline SVG built from plain data: nothing fetched, no script, readable by screen readers.

pygal was tried first and dropped: importing it installs a legacy import hook that raises
ImportWarning for every later import, which the warnings-as-errors test policy rightly rejects.
"""

from __future__ import annotations

from html import escape

BLUE, ORANGE, INK, MUTED, GRID = "#1f5fa8", "#b35900", "#1a1a1a", "#595959", "#d9d9d9"
SERIES = (BLUE, ORANGE, "#2e7d32", "#6a1b9a")
WIDTH, LABEL_W, ROW_H = 720, 300, 30


def share_bars(names: list[str], shares: list[float], ratings: list[float | None]) -> str:
    """Horizontal bars: each theme's share of the provider's comments, the mean rating in its label."""
    height = 20 + ROW_H * len(names)
    plot = WIDTH - LABEL_W - 130
    parts = [_open(height, "Share of comments per theme")]
    top = max(shares, default=1.0) or 1.0
    for i, (name, share, rating) in enumerate(zip(names, shares, ratings, strict=True)):
        y = 10 + i * ROW_H
        value = f"{share * 100:.0f}%" + (f" · rating {rating:.1f}" if rating is not None else "")
        width = max(1.0, plot * share / top)
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{y + 19}" text-anchor="end" fill="{INK}">{escape(_clip(name, 38))}</text>'
            f'<rect x="{LABEL_W}" y="{y + 4}" width="{width:.1f}" height="{ROW_H - 8}" fill="{BLUE}"><title>'
            f"{escape(name)}: {share * 100:.0f}%</title></rect>"
            f'<text x="{LABEL_W + width + 6:.1f}" y="{y + 19}" fill="{INK}">{value}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def cycle_trends(cycles: list[str], series: dict[str, list[int | None]]) -> str:
    """Grouped bars: comments per cycle for each theme; no bar where a cycle is under the threshold."""
    names = list(series)
    group_h = ROW_H * len(cycles) + 10
    height = 20 + group_h * len(names) + 30
    top = max((v for values in series.values() for v in values if v is not None), default=1)
    plot = WIDTH - LABEL_W - 110
    parts = [_open(height, "Comments per cycle for each theme")]
    for i, name in enumerate(names):
        y0 = 10 + i * group_h
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{y0 + 19}" text-anchor="end" fill="{INK}">{escape(_clip(name, 44))}</text>'
        )
        for j, (cycle, value) in enumerate(zip(cycles, series[name], strict=True)):
            y = y0 + j * ROW_H
            colour = SERIES[j % len(SERIES)]
            if value is None:
                parts.append(f'<text x="{LABEL_W + 4}" y="{y + 19}" fill="{MUTED}">{escape(cycle)}: withheld</text>')
                continue
            width = max(1.0, plot * value / top)
            parts.append(
                f'<rect x="{LABEL_W}" y="{y + 4}" width="{width:.1f}" height="{ROW_H - 8}" fill="{colour}"><title>'
                f"{escape(name)}, {escape(cycle)}: {value}</title></rect>"
                f'<text x="{LABEL_W + width + 6:.1f}" y="{y + 19}" fill="{INK}">{escape(cycle)}: {value}</text>'
            )
        parts.append(f'<line x1="0" x2="{WIDTH}" y1="{y0 + group_h - 3}" y2="{y0 + group_h - 3}" stroke="{GRID}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _open(height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'font-family="system-ui, sans-serif" font-size="13" role="img"><title>{escape(title)}</title>'
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
