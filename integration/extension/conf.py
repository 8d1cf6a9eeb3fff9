"""Extension settings: Django settings win (tests set them), then the
environment, then the documented defaults (extension/README.md)."""

import re
from pathlib import Path

from django.conf import settings

from portal.env import BASE_DIR, env

# Real HDE's staff ticket page, after the system's address:
# `/<lang>/ticket/list/filter/id/<list filter>/ticket/<ticket id>` (optionally
# followed by `/` and `#/`). Group 1 is the ticket id. See extension/README.md.
DEFAULT_TICKET_PATTERN = r"^/[a-z]{2}/ticket/list/filter/id/\d+/ticket/(\d+)(?:[/?#]|$)"


def _setting(name: str, default):
    value = getattr(settings, name, None)
    return value if value not in (None, "") else default


def extension_dir() -> Path:
    """Where `scripts/build-extension` writes (and the portal serves from)."""
    return Path(_setting("EXTENSION_DIR", env.str("EXTENSION_DIR", default="")
                         or BASE_DIR / "var" / "extension"))


def dist_dir() -> Path:
    return extension_dir() / "dist"


def link_hours() -> int:
    """Lifetime of the widget links the extension gets: a working shift. The
    panel asks for a fresh one whenever a ticket is opened."""
    return int(_setting("EXTENSION_LINK_HOURS", env.int("EXTENSION_LINK_HOURS", default=8)))


def ticket_pattern() -> str:
    pattern = _setting("EXTENSION_TICKET_PATTERN",
                       env.str("EXTENSION_TICKET_PATTERN", default=DEFAULT_TICKET_PATTERN))
    ticket_pattern_check(pattern)
    return pattern


def ticket_pattern_check(pattern: str) -> None:
    """The pattern runs in the browser as a JavaScript RegExp too: keep it to
    the common subset (no named groups, no inline flags) with one group."""
    compiled = re.compile(pattern)
    if compiled.groups != 1 or "(?P" in pattern or "(?i" in pattern:
        raise ValueError("EXTENSION_TICKET_PATTERN needs exactly one plain group "
                         "(the ticket id) and no Python-only syntax.")
