"""Times in the console read in the shops' own zone, not the server's.

A shop admin in Yekaterinburg reads "14:05", not the UTC "09:05" the
database keeps. Two layers, both setting Django's current zone so that every
`date` filter, read-only field and `timezone.localtime` follows without each
screen asking:

- every console page: the zone all of the user's shops share (the usual
  agency; `shops_zone`); an agency spread over zones keeps the server's,
  and lists of several shops write each row's zone beside its time;
- a page about one shop (its change form, History, widget access, the
  wizard; any object page of a shop-owned model): that shop's zone
  (`one_shop_zone`, through `TenantScopedAdminMixin.shop_zone_of`, which
  every shop-owned admin has).

`zone_caption` names the zone a page shows ("Europe/Moscow, UTC+3") for the
places where it would otherwise be a guess (the dashboard's hour labels,
History).
"""

from zoneinfo import ZoneInfo

from django.apps import apps
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from integration.core.formatting import shop_datetime_zoned, zone_label
from integration.tenancy.access import shops_for_user
from integration.tenancy.time_zones import shops_zone, zone_or_none


class ShopsZoneMiddleware:
    """Activates the console's zone for the request: the user's shops'
    common zone, or the one shop's zone on a page about one shop."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = None

    def _console_user(self, request):
        if self.prefix is None:
            self.prefix = reverse("admin:index")
        user = getattr(request, "user", None)
        if request.path.startswith(self.prefix) and user is not None and user.is_authenticated:
            return user
        return None

    def __call__(self, request):
        user = self._console_user(request)
        # Always inside an override, so that `process_view` below may narrow
        # the zone and the thread's zone is restored after the response
        # (templates render inside: the handler renders before returning).
        with timezone.override(shops_zone(user) if user is not None else None):
            return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if self._console_user(request) is None:
            return None
        zone = one_shop_zone(request, view_kwargs)
        if zone is not None:
            timezone.activate(zone)
        return None


def one_shop_zone(request, view_kwargs) -> ZoneInfo | None:
    """The zone of the one shop a console page is about, if it is: a
    wizard or first-webhook page (`public_id`), or any object page of a
    shop-owned model (`/admin/<app>/<model>/<object_id>/…`: change, History,
    delete and the custom ones, such as widget access or the probe), asked
    of the model's admin, which scopes the lookup to the user's shops. None
    for anything else, or an object the user may not see."""
    if "public_id" in view_kwargs:
        name = shops_for_user(request.user).filter(
            public_id=view_kwargs["public_id"]).values_list("timezone", flat=True).first()
        return zone_or_none(name)
    object_id = view_kwargs.get("object_id")
    match = getattr(request, "resolver_match", None)
    if not object_id or match is None:
        return None
    parts = (match.route or "").split("/")
    try:
        model = apps.get_model(parts[1], parts[2])
    except (LookupError, IndexError, ValueError):
        return None
    if not admin.site.is_registered(model):
        return None
    shop_zone_of = getattr(admin.site.get_model_admin(model), "shop_zone_of", None)
    return shop_zone_of(request, object_id) if shop_zone_of else None


def shop_time(moment, shop) -> str:
    """A moment in its shop's zone, the zone written after it: one list
    holds rows of several shops, whose zones may differ."""
    return shop_datetime_zoned(moment, shop.timezone) if moment else "—"


def zone_caption() -> str:
    """The current zone as a reader names it: "Europe/Moscow, UTC+3"."""
    now = timezone.localtime()
    name = timezone.get_current_timezone_name()
    label = zone_label(now)
    return name if name == label else f"{name}, {label}"


def console_zone(request):
    """Template context, read while rendering (inside the page's zone):
    `console_zone` ("Europe/Moscow, UTC+3") for captions, its name for
    formatting filters, and the offset alone for the header."""
    return {"console_zone": zone_caption, "console_zone_name": timezone.get_current_timezone_name,
            "console_zone_offset": lambda: zone_label(timezone.localtime())}
