"""Server-side SVG bar charts for the admin: no JavaScript library, no CDN,
nothing to install; the page is complete as served (and in a screenshot).
Every text goes through format_html, so labels are escaped. No <style> inside
the SVG (the console's CSP has no 'unsafe-inline'): the text style is in
static/console/console.css (`svg.bar-chart text`)."""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

ROW = 26
LABEL_W = 190
BAR_W = 300
VALUE_W = 120
COLORS = ("#417690", "#79aec8", "#c4884b", "#8a6fb3", "#5b9a68", "#b55d5d")


def bar_chart(rows: list[tuple[str, float | None, str]], *, title: str,
              max_value: float | None = None) -> SafeString:
    """Horizontal bars, one per (label, value, value text). A None value is
    drawn as no bar with its text ("—"), so empty groups stay visible."""
    values = [v for _, v, _ in rows if v is not None]
    top = max_value if max_value is not None else max(values, default=0)
    width, height = LABEL_W + BAR_W + VALUE_W, ROW * max(len(rows), 1) + 8

    def bar(index, label, value, text):
        y = 4 + index * ROW
        length = 0 if not top or value is None else max(1, round(BAR_W * value / top))
        color = COLORS[index % len(COLORS)]
        return (y + 17, label[:32], LABEL_W, y + 3, length, color,
                LABEL_W + length + 6, y + 17, text)

    items = format_html_join(
        "", '<text x="4" y="{}" class="label">{}</text>'
            '<rect x="{}" y="{}" width="{}" height="18" rx="2" fill="{}"></rect>'
            '<text x="{}" y="{}" class="value">{}</text>',
        (bar(i, label, value, text) for i, (label, value, text) in enumerate(rows)))
    return format_html(
        '<svg class="bar-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        'viewBox="0 0 {w} {h}" width="{w}" height="{h}" aria-label="{t}"><title>{t}</title>'
        '{items}</svg>',
        w=width, h=height, t=title, items=items)
