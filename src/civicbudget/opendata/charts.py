"""Server-rendered SVG charts: plain horizontal bars with labels, readable without JavaScript
and on a phone.

Every label is escaped; each bar carries a <title> so a screen reader and a mouse-over
read the exact figure.
"""

from __future__ import annotations

from html import escape

from django.utils.safestring import SafeString, mark_safe

COLORS = ("#2f6f4f", "#c8843a", "#3d5a98", "#9a3d5a")


def _fmt(value: float, kind: str) -> str:
    if kind == "percent":
        return f"{value * 100:.1f}%"
    if kind == "decimal":
        return f"{value:.2f}"
    return f"{int(round(value)):,}"


def bar_chart(title: str, labels: list[str], series: list[tuple[str, list[float | None]]], *,
              kind: str = "int", bar_height: int = 16) -> SafeString:
    """Horizontal bars: one group per label, one bar per series, the value printed beside
    each bar.

    The SVG has no viewBox: it is as wide as its box and its text keeps its real size (12 px
    and up) on a phone instead of shrinking with the picture. Each group's label sits on its
    own line above its bars, so a long community name never overlaps a bar; bar lengths are
    percentages of the width, the longest 72% so its value still fits beside it.
    """
    label_h, gap, legend_h = 20, 6, 20
    per_group = label_h + len(series) * bar_height + gap
    legend = len(series) > 1
    height = 26 + (legend_h if legend else 0) + len(labels) * per_group
    values = [v for _, vs in series for v in vs if v is not None]
    top = max(values) if values else 1
    top = top or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="100%" '
             f'height="{height}" aria-label="{escape(title)}">',
             f'<text x="0" y="16" font-size="15" font-weight="bold">{escape(title)}</text>']
    y = 26
    if legend:
        # One legend line, each series' name spaced by its length (CJK characters ~13 px).
        x = 0
        for s, (name, _vs) in enumerate(series):
            parts.append(f'<rect x="{x}" y="{y + 3}" width="10" height="10" fill="{COLORS[s % len(COLORS)]}"/>'
                         f'<text x="{x + 14}" y="{y + 12}" font-size="12">{escape(name)}</text>')
            x += 14 + 13 * len(name) + 14
        y += legend_h
    for g, label in enumerate(labels):
        parts.append(f'<text x="0" y="{y + label_h - 6}" font-size="13">{escape(str(label))}</text>')
        y += label_h
        for s, (name, vs) in enumerate(series):
            v = vs[g]
            share = 0.0 if v is None else max(0.2, 72 * v / top)
            text = "–" if v is None else _fmt(v, kind)
            parts.append(f'<rect x="0" y="{y + 1}" width="{share:.2f}%" height="{bar_height - 3}" '
                         f'fill="{COLORS[s % len(COLORS)]}"><title>{escape(name)} {escape(str(label))}: '
                         f'{text}</title></rect>')
            parts.append(f'<text x="{share:.2f}%" dx="5" y="{y + bar_height - 4}" font-size="12">{text}</text>')
            y += bar_height
        y += gap
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
