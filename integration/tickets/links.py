"""Where a person opens an HDE ticket: the agent UI's ticket page.

Real HDE's staff address is `<system URL>/<lang>/ticket/list/filter/id/<list>/
ticket/<id>` (public sources, extension/README.md "Why this pattern"; the
ticket is the API's numeric id, the list any of the agent's lists). The
emulator serves its ticket page at the same shape, so one link works for
both. The list is 1, the one public links use.
"""

from urllib.parse import quote

HDE_LANGUAGES = ("ru", "en")
DEFAULT_LIST_ID = 1


def hde_ticket_url(*, base_url: str, ticket_id: int, language: str = "ru") -> str:
    """The ticket's page in HDE's agent UI, or "" without a system URL."""
    if not base_url:
        return ""
    lang = language if language in HDE_LANGUAGES else "ru"
    return (f"{base_url.rstrip('/')}/{lang}/ticket/list/filter/id/{DEFAULT_LIST_ID}/ticket/"
            f"{quote(str(int(ticket_id)))}/")
