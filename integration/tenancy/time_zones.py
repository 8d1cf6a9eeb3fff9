"""The shop's time zone, picked from a list rather than typed.

Every zone the installed tz database knows (Python's `zoneinfo`, with the
`tzdata` package where the system has none), labelled with its current UTC
offset so that "Europe/Samara (UTC+04:00)" and a typo never look alike. The
labels keep the IANA names: they are the same words in every language, they
are what RetailCRM's own settings return (`/api/v5/settings`), and the
browser's type-ahead finds "Europe/…" by its first letters. A stored value
the database no longer lists (or lists only as an alias) stays selectable,
so an old shop still saves.
"""

import os
from datetime import datetime
from functools import lru_cache
from zoneinfo import TZPATH, ZoneInfo, available_timezones

from integration.tenancy.access import shops_for_user


def _offset(name: str, now: datetime) -> str:
    minutes = int(now.astimezone(ZoneInfo(name)).utcoffset().total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


@lru_cache(maxsize=1)
def _aliases() -> frozenset[str]:
    """Names the tz database keeps only as links to another zone: renamed
    ones (Europe/Kiev → Europe/Kyiv) and the old country names (US/Eastern).
    Read from the database's own index, `tzdata.zi` ("L target alias"
    lines), where zoneinfo reads its zones: the system's first, then the
    `tzdata` package. Without an index none are left out."""
    places = [os.path.join(path, "tzdata.zi") for path in TZPATH]
    try:
        from importlib.resources import files

        places.append(str(files("tzdata").joinpath("zoneinfo", "tzdata.zi")))
    except (ImportError, ModuleNotFoundError):
        pass
    for place in places:
        try:
            with open(place, encoding="utf-8") as index:
                return frozenset(line.split()[2] for line in index
                                 if line.startswith("L ") and len(line.split()) == 3)
        except OSError:
            continue
    return frozenset()


@lru_cache(maxsize=1)
def _known(day: str) -> tuple[tuple[str, str], ...]:
    now = datetime.fromisoformat(day)
    aliases = _aliases()
    names = sorted(name for name in available_timezones()
                   if "/" in name and name not in aliases
                   and not name.startswith(("Etc/", "SystemV/", "posix/", "right/")))
    return tuple((name, f"{name} ({_offset(name, now)})") for name in ["UTC", *names])


def time_zone_choices(current: str = ""):
    """(value, label) pairs for a select; `current` is kept if unknown.
    Offsets are today's (summer time moves them), so the cache is per day."""
    from django.utils import timezone

    day = timezone.now().date().isoformat()
    choices = list(_known(day))
    if current and current not in {value for value, _ in choices}:
        choices.insert(0, (current, current))
    return choices


def shops_zone(user) -> ZoneInfo | None:
    """The one zone all the user's shops share (the usual agency), or None
    when they differ or there are none. Screens that mix shops count days
    and show hours in it; with no common zone they fall back to the server's
    and write each row's own zone beside its time."""
    zones = set(shops_for_user(user).values_list("timezone", flat=True).distinct()[:2])
    return zone_or_none(zones.pop()) if len(zones) == 1 else None


def zone_or_none(name: str) -> ZoneInfo | None:
    """A stored zone name as a zone; None when empty or when the tz database
    no longer knows it (the server's zone is then shown, never an error)."""
    try:
        return ZoneInfo(name) if name else None
    except (ValueError, KeyError):
        return None
