"""What the portal serves for the extension, without signing in: the install
page (`/extension/`), Chrome's update manifest (`/extension/updates.xml`, the
URL managed browsers' `ExtensionInstallForcelist` names) and the packages
`scripts/build-extension` produced. Nothing here is secret: the package
holds no keys or tokens; an operator signs in with a token afterwards."""

import json
from xml.sax.saxutils import quoteattr

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from integration.extension import conf
from integration.extension.templating import render_page

CONTENT_TYPES = {"crx": "application/x-chrome-extension", "zip": "application/zip"}


def build_info() -> dict | None:
    """The last build's build.json, or None when the extension was never
    built on this server."""
    try:
        info = json.loads((conf.dist_dir() / "build.json").read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and {"id", "version", "crx", "zip"} <= info.keys() \
        else None


def _absolute(name: str, *args) -> str:
    return settings.PORTAL_BASE_URL + reverse(name, args=args)


@require_safe
@cache_control(no_cache=True)
def install_page(request):
    info = build_info()
    context = {"info": info, "portal_url": settings.PORTAL_BASE_URL,
               "default_pattern": conf.DEFAULT_TICKET_PATTERN}
    if info:
        update_url = _absolute("extension-updates")
        context.update({
            "update_url": update_url,
            "crx_url": _absolute("extension-download", info["crx"]),
            "zip_url": _absolute("extension-download", info["zip"]),
            "forcelist_entry": f"{info['id']};{update_url}",
            "policy_json": json.dumps({"ExtensionInstallForcelist": [f"{info['id']};{update_url}"],
                                       "3rdparty": {"extensions": {info["id"]: {
                                           "portal_url": settings.PORTAL_BASE_URL}}}},
                                      indent=2),
        })
    try:
        context["tokens_url"] = reverse("admin:integration_extensiontoken_changelist")
    except NoReverseMatch:
        context["tokens_url"] = ""
    return HttpResponse(render_page(request, "extension/install.html", context))


@require_safe
@cache_control(no_cache=True)
def update_manifest(request):
    """Chrome's update check (gupdate protocol 2.0): the current version and
    where to fetch it. Chrome compares versions and downloads when newer."""
    info = build_info()
    if info is None:
        raise Http404("The extension has not been built on this server.")
    codebase = _absolute("extension-download", info["crx"])
    xml = ("<?xml version='1.0' encoding='UTF-8'?>\n"
           "<gupdate xmlns='http://www.google.com/update2/response' protocol='2.0'>\n"
           f"  <app appid={quoteattr(info['id'])}>\n"
           f"    <updatecheck codebase={quoteattr(codebase)}"
           f" version={quoteattr(info['version'])} />\n"
           "  </app>\n</gupdate>\n")
    return HttpResponse(xml, content_type="application/xml; charset=utf-8")


@require_safe
def download(request, name):
    """Only the files the last build named; names carry the version, so a
    browser may keep them."""
    info = build_info()
    kind = next((k for k in CONTENT_TYPES if info and info.get(k) == name), None)
    path = conf.dist_dir() / name
    if kind is None or not path.is_file():
        raise Http404("No such extension package.")
    response = FileResponse(path.open("rb"), content_type=CONTENT_TYPES[kind],
                            as_attachment=True, filename=name)
    response["Cache-Control"] = "public, max-age=86400"
    return response
