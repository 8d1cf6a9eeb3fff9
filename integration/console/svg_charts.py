"""Server-side SVG bar charts for the admin: no JavaScript library, no CDN,
nothing to install; the page is complete as served (and in a screenshot).
Every text goes through format_html, so labels are escaped. No <style> inside
the SVG (the console's CSP has no 'unsafe-inline'): the text style is in
static/console/console.css (`svg.bar-chart text`).

Both axes are labelled, in the reader's language (the caller passes the
translated titles): the category axis (what each bar is) heads the column
of bar labels (a title written sideways would not fit a chart of two bars),
the value axis (what the bar's length measures, with its unit) sits under
the scale of ticks, so a chart read alone — a screenshot in a report —
still says what it shows.
"""

import math
from collections.abc import Callable

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

ROW = 26
HEAD_H = 22  # the category-axis title above the labels
LABEL_W = 220  # category labels
BAR_W = 300
VALUE_W = 120
SCALE_H = 44  # tick labels and the value-axis title under the bars
LABEL_CHARS = 30
COLORS = ("#417690", "#79aec8", "#c4884b", "#8a6fb3", "#5b9a68", "#b55d5d")
GRID = "#c8c8c8"


def nice_ticks(top: float, *, count: int = 4, whole: bool = False) -> list[float]:
    """0 and round steps up to at least `top` (1, 2, 2.5 or 5 times a power
    of ten), as a person would mark a scale. `whole`: counts, never 0.5."""
    if not top or top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 2.5, 5, 10) if not whole or power >= 10 else (1, 2, 5, 10)
    step = next(power * m for m in steps if power * m >= raw)
    if whole:
        step = max(1, round(step))
    ticks, value = [], 0.0
    while value < top - 1e-9:
        ticks.append(value)
        value += step
    ticks.append(value)
    return ticks


def bar_chart(rows: list[tuple[str, float | None, str]], *, title: str, category_axis: str,
              value_axis: str, tick_text: Callable[[float], str] = str,
              max_value: float | None = None, whole: bool = False) -> SafeString:
    """Horizontal bars, one per (label, value, value text). A None value is
    drawn as no bar with its text ("—"), so empty groups stay visible.

    `category_axis` names what the bars are ("Priority of the first
    ticket"), `value_axis` what their length measures, with the unit
    ("Repeat-purchase rate, %"); `tick_text` writes a tick's value on the
    scale. `max_value` fixes the scale's end (1 for rates); else it is a
    round number at or above the largest value."""
    values = [v for _, v, _ in rows if v is not None]
    ticks = [0.0, 0.25, 0.5, 0.75, 1.0] if max_value == 1 else nice_ticks(
        max_value if max_value is not None else max(values, default=0), whole=whole)
    top = ticks[-1]
    left = LABEL_W
    top_y = HEAD_H
    bars_h = HEAD_H + ROW * max(len(rows), 1) + 8
    width, height = left + BAR_W + VALUE_W, bars_h + SCALE_H

    def bar(index, label, value, text):
        y = top_y + 4 + index * ROW
        length = 0 if not top or value is None else max(1, round(BAR_W * value / top))
        color = COLORS[index % len(COLORS)]
        short = label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…"
        return (label, 4, y + 17, short, left, y + 3, length, color,
                left + length + 6, y + 17, text)

    items = format_html_join(
        "", '<g><title>{}</title><text x="{}" y="{}" class="label">{}</text></g>'
            '<rect x="{}" y="{}" width="{}" height="18" rx="2" fill="{}"></rect>'
            '<text x="{}" y="{}" class="value">{}</text>',
        (bar(i, label, value, text) for i, (label, value, text) in enumerate(rows)))

    def tick(value):
        x = left + (round(BAR_W * value / top) if top else 0)
        return (x, x, top_y, bars_h, GRID, x, bars_h + 14, tick_text(value))

    scale = format_html_join(
        "", '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="1"></line>'
            '<text x="{}" y="{}" class="tick" text-anchor="middle">{}</text>',
        (tick(value) for value in ticks))
    return format_html(
        '<svg class="bar-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        'viewBox="0 0 {w} {h}" width="{w}" height="{h}" aria-label="{t}"><title>{t}</title>'
        '<g class="scale">{scale}</g>{items}'
        '<line x1="{left}" x2="{left}" y1="{top_y}" y2="{bars_h}" stroke="currentColor"></line>'
        '<text class="axis-title category-axis" x="4" y="15">{category}</text>'
        '<text class="axis-title value-axis" x="{value_x}" y="{value_y}" '
        'text-anchor="middle">{value}</text></svg>',
        w=width, h=height, t=title, scale=scale, items=items, left=left, bars_h=bars_h,
        top_y=top_y, category=category_axis, value_x=left + BAR_W / 2,
        value_y=bars_h + SCALE_H - 6, value=value_axis)
