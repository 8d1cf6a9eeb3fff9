"""The package's own templates (`integration/extension/templates/`), found
before the project's, with the project's settings: `{% extends %}` of admin
templates and `{% load i18n %}` work as usual."""

from functools import cache
from pathlib import Path

from django.template import Engine, RequestContext, engines

TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def _engine() -> Engine:
    default = engines["django"].engine
    return Engine(dirs=[str(TEMPLATES), *default.dirs], app_dirs=default.app_dirs,
                  context_processors=default.context_processors, debug=default.debug,
                  libraries=default.libraries,
                  builtins=[b for b in default.builtins if b not in Engine.default_builtins],
                  string_if_invalid=default.string_if_invalid,
                  file_charset=default.file_charset, autoescape=default.autoescape)


def render_page(request, name: str, context: dict) -> str:
    return _engine().get_template(name).render(RequestContext(request, context))
