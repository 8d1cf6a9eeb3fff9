"""Locked-out admin logins, seen and lifted within the tenancy rules.

django-axes locks an (address, username) pair after too many refused
passwords (settings `AXES_*`). A member who mistyped their password from
their own office waits the window out, or asks: an agency's owner may lift
the lock of that agency's members, a superuser anyone's. Lifting clears the
refused attempts of the login from every address.
"""

from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone

from integration.tenancy.access import can_manage_members


def _locked_pairs():
    """Attempts still inside the window, grouped per (username, address) as
    axes counts them, with at least the failure limit."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    return (AccessAttempt.objects.filter(attempt_time__gte=since)
            .values("username", "ip_address")
            .annotate(total=Sum("failures_since_start"))
            .filter(total__gte=settings.AXES_FAILURE_LIMIT))


def memberships_with_login_state(memberships):
    """`memberships` annotated with `login_locked` (one query)."""
    locked = _locked_pairs().filter(username=OuterRef("user__username"))
    return memberships.annotate(login_locked=Exists(locked))


def login_locked(username: str) -> bool:
    return _locked_pairs().filter(username=username).exists()


def login_unlock(*, actor, memberships) -> tuple[int, int]:
    """Lift the lock-out of these members' logins where `actor` may manage
    the members (owner of the membership's agency, or superuser).
    Returns (logins unlocked, memberships refused)."""
    usernames, refused = set(), 0
    for membership in memberships.select_related("user"):
        if can_manage_members(actor, membership.agency_id):
            usernames.add(membership.user.get_username())
        else:
            refused += 1
    unlocked = sum(1 for username in sorted(usernames) if reset(username=username))
    return unlocked, refused
