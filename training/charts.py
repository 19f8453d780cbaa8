"""Server-rendered SVG line charts: no charting library to vendor, nothing to run in the browser.

Every label goes through `escape`, since series names can come from data (language codes, run names).
"""
import math

from django.utils.html import escape
from django.utils.safestring import mark_safe

PALETTE = ["#2f5bd3", "#d94f30", "#1f9d55", "#9b51e0", "#e6a700", "#00a3bf", "#c2185b", "#6d4c41"]


def _ticks(lo, hi, count=4):
    if hi == lo:
        return [lo]
    step = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(step))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= step), default=step)
    start = math.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step) + 1)]


def _fmt(v):
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"


def line_chart(series: dict, *, title: str, width: int = 560, height: int = 240, dashed=(), y_label: str = ""):
    """series: name -> [(x, y), ...]. Names in `dashed` are drawn dashed (reference lines such as the English gap)."""
    points = [(x, y) for pts in series.values() for x, y in pts if y is not None and math.isfinite(y)]
    left, right, top, bottom = 56, 120, 28, 32
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" aria-label="{escape(title)}">',
             f'<text x="{left}" y="16" class="chart-title" font-size="13" font-weight="600">{escape(title)}</text>']
    if not points:
        parts.append(f'<text x="{left}" y="{top + plot_h / 2}" font-size="12" fill="#5b6475">no data yet</text></svg>')
        return mark_safe("".join(parts))  # noqa: S308 (every interpolated text above is escaped)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(ys), max(ys)
    pad = (y1 - y0) * 0.08 or abs(y0) * 0.1 or 1
    y0, y1 = y0 - pad, y1 + pad

    def sx(x):
        return left + (x - x0) / (x1 - x0) * plot_w

    def sy(y):
        return top + (1 - (y - y0) / (y1 - y0)) * plot_h

    for t in _ticks(y0, y1):
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" stroke="#e3e6ec"/>'
                     f'<text x="{left - 6}" y="{sy(t) + 4:.1f}" font-size="10" text-anchor="end" fill="#5b6475">{_fmt(t)}</text>')
    for t in _ticks(x0, x1):
        parts.append(f'<text x="{sx(t):.1f}" y="{top + plot_h + 16}" font-size="10" text-anchor="middle" '
                     f'fill="#5b6475">{_fmt(t)}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{height - 2}" font-size="10" text-anchor="middle" fill="#5b6475">step</text>')
    if y_label:
        parts.append(f'<text x="12" y="{top + plot_h / 2}" font-size="10" fill="#5b6475" '
                     f'transform="rotate(-90 12 {top + plot_h / 2})" text-anchor="middle">{escape(y_label)}</text>')
    for i, (name, pts) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        clean = [(x, y) for x, y in sorted(pts) if y is not None and math.isfinite(y)]
        if not clean:
            continue
        dash = ' stroke-dasharray="5 4"' if name in dashed else ""
        path = " ".join(f"{'M' if j == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for j, (x, y) in enumerate(clean))
        parts.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="1.8"{dash}>'
                     f'<title>{escape(name)}</title></path>')
        if len(clean) == 1:
            parts.append(f'<circle cx="{sx(clean[0][0]):.1f}" cy="{sy(clean[0][1]):.1f}" r="3" fill="{color}"/>')
        ly = top + 12 + i * 16
        parts.append(f'<line x1="{left + plot_w + 10}" x2="{left + plot_w + 28}" y1="{ly - 4}" y2="{ly - 4}" '
                     f'stroke="{color}" stroke-width="2"{dash}/><text x="{left + plot_w + 32}" y="{ly}" '
                     f'font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every interpolated text above is escaped)


def metric_series(metrics, key):
    """[(step, value)] of one logged key across TrainingMetric rows (or dicts with step/values)."""
    out = []
    for m in metrics:
        step, values = (m.step, m.values) if hasattr(m, "step") else (m["step"], m["values"])
        if key in values:
            out.append((step, values[key]))
    return out
