"""How the console refuses an object the user may not see."""


def not_found(response) -> bool:
    """A console URL for another agency's object, or one that does not
    exist, answers alike: the dashboard, with "Not found … (perhaps it was
    deleted)" (integration.console.not_found), never an error page or the
    object's name."""
    return response.status_code == 302 and response.url == "/admin/"
