"""Times in the console read in the shops' own zone, not the server's.

A shop admin in Yekaterinburg reads "14:05", not the UTC "09:05" the
database keeps. Two layers, both setting Django's current zone so that every
`date` filter, read-only field and `timezone.localtime` follows without each
screen asking:

- every console page: the zone all of the user's shops share (the usual
  agency; `shops_zone`); an agency spread over zones keeps the server's,
  and lists of several shops write each row's zone beside its time;
- one object's pages (change form, History): that object's shop's zone
  (`TenantScopedAdminMixin`, which every shop-owned admin has).

`zone_caption` names the zone a page shows ("Europe/Moscow, UTC+3") for the
places where it would otherwise be a guess (the dashboard's hour labels,
History).
"""

from django.urls import reverse
from django.utils import timezone

from integration.core.formatting import shop_datetime_zoned, zone_label
from integration.tenancy.time_zones import shops_zone


class ShopsZoneMiddleware:
    """Activates the user's shops' common zone for console requests."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = None

    def __call__(self, request):
        if self.prefix is None:
            self.prefix = reverse("admin:index")
        user = getattr(request, "user", None)
        zone = None
        if request.path.startswith(self.prefix) and user is not None and user.is_authenticated:
            zone = shops_zone(user)
        if zone is None:
            return self.get_response(request)
        with timezone.override(zone):  # template responses render inside (the handler does)
            return self.get_response(request)


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
    """Template context: `console_zone` for captions under times."""
    return {"console_zone": zone_caption}
