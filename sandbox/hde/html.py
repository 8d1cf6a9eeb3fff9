"""A small allow-list HTML cleaner for messages shown on the ticket page.

HDE messages are HTML (docs/vendors/helpdeskeddy.md §6: "text (HTML allowed)"), and anyone who
reaches the emulator can write one (the API, the new-ticket form). The page
renders them as HTML like HDE does, but only a harmless subset: formatting
tags, and links with http(s)/mailto targets. Everything else is escaped text,
so a `<script>` in a message is shown, never run.
"""

from html import escape
from html.parser import HTMLParser

ALLOWED = {"p", "br", "b", "strong", "i", "em", "u", "s", "ul", "ol", "li", "a", "div", "span",
           "code", "pre", "blockquote", "h3", "h4", "table", "thead", "tbody", "tr", "th", "td",
           "hr", "small"}
VOID = {"br", "hr"}
DROP_CONTENT = {"script", "style", "iframe", "object", "embed", "template"}


class _Cleaner(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in DROP_CONTENT:
            self.skipping += 1
            return
        if self.skipping or tag not in ALLOWED:
            return
        extra = ""
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if href.strip().lower().startswith(("http://", "https://", "mailto:")):
                extra = f' href="{escape(href.strip(), quote=True)}" rel="noopener" target="_blank"'
        self.out.append(f"<{tag}{extra}>")
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in DROP_CONTENT:
            self.skipping = max(0, self.skipping - 1)
            return
        if self.skipping or tag not in self.open:
            return
        while self.open:
            current = self.open.pop()
            self.out.append(f"</{current}>")
            if current == tag:
                break

    def handle_data(self, data):
        if not self.skipping:
            self.out.append(escape(data, quote=False))


def clean_html(text: str) -> str:
    cleaner = _Cleaner()
    cleaner.feed(text or "")
    cleaner.close()
    cleaner.out.extend(f"</{tag}>" for tag in reversed(cleaner.open))
    return "".join(cleaner.out)
