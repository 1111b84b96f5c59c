"""Server-rendered SVG charts: plain bars with labels, readable without JavaScript.

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
              kind: str = "int", width: int = 640, bar_height: int = 18) -> SafeString:
    """Horizontal bars: one group per label, one bar per series."""
    groups = len(labels)
    per_group = len(series) * bar_height + 8
    label_w = 150
    height = 34 + groups * per_group + (18 * len(series) if len(series) > 1 else 0)
    values = [v for _, vs in series for v in vs if v is not None]
    top = max(values) if values else 1
    top = top or 1
    plot_w = width - label_w - 90
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
             f'width="100%" aria-label="{escape(title)}">',
             f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>']
    y = 30
    for g, label in enumerate(labels):
        parts.append(f'<text x="{label_w - 6}" y="{y + per_group / 2}" font-size="12" text-anchor="end">'
                     f'{escape(str(label))}</text>')
        for s, (name, vs) in enumerate(series):
            v = vs[g]
            w = 0 if v is None else max(1, plot_w * v / top)
            text = "–" if v is None else _fmt(v, kind)
            parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_height - 3}" '
                         f'fill="{COLORS[s % len(COLORS)]}"><title>{escape(name)} {escape(str(label))}: {text}</title></rect>')
            parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_height - 6}" font-size="11">{text}</text>')
            y += bar_height
        y += 8
    if len(series) > 1:
        x = label_w
        for s, (name, _vs) in enumerate(series):
            parts.append(f'<rect x="{x}" y="{y + 2}" width="10" height="10" fill="{COLORS[s % len(COLORS)]}"/>'
                         f'<text x="{x + 14}" y="{y + 11}" font-size="11">{escape(name)}</text>')
            x += 14 + 12 * len(name) + 20
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
