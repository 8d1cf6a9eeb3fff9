"""Locked-out admin logins, seen and lifted within the tenancy rules.

django-axes locks an (address, username) pair after too many refused
passwords (settings `AXES_*`). A member who mistyped their password from
their own office waits the window out, or asks: a superuser may lift
anyone's lock, an agency's owner only the lock of an account that belongs
to the owner's agencies alone. Lifting clears the refused attempts of the
login from every address.

Why "alone": lifting a lock helps whoever is guessing the password, and a
lock-out says that someone is trying. An account that is also a member
elsewhere (another agency's owner, say) is not the owner's to expose or to
unlock, and a superuser never is. Who may be unlocked is decided here, once
(`users_unlockable_by`), for the list's "login locked" column, its sorting
and the action alike: for an account the viewer may not unlock, the column
says nothing, not even "not locked".
"""

from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import BooleanField, Case, Exists, OuterRef, Q, Sum, Value, When
from django.utils import timezone

from integration.models import Membership
from integration.tenancy.access import agencies_owned_by


def _locked_pairs():
    """Attempts still inside the window, grouped per (username, address) as
    axes counts them, with at least the failure limit."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    return (AccessAttempt.objects.filter(attempt_time__gte=since)
            .values("username", "ip_address")
            .annotate(total=Sum("failures_since_start"))
            .filter(total__gte=settings.AXES_FAILURE_LIMIT))


def users_unlockable_by(actor):
    """Accounts whose lock-out `actor` may see and lift: every account for a
    superuser; for anyone else, non-superuser accounts with at least one
    membership, every one of them in an agency `actor` owns."""
    users = get_user_model()._default_manager.all()
    if actor.is_authenticated and actor.is_active and actor.is_superuser:
        return users
    owned = agencies_owned_by(actor).values("pk")
    elsewhere = Membership.objects.filter(user=OuterRef("pk")).exclude(agency__in=owned)
    inside = Membership.objects.filter(user=OuterRef("pk"), agency__in=owned)
    return users.filter(Exists(inside), ~Exists(elsewhere), is_superuser=False)


def may_see_login_state(actor) -> bool:
    """Whether the actor may unlock anyone at all (owner or superuser)."""
    return actor.is_superuser or agencies_owned_by(actor).exists()


def memberships_with_login_state(memberships, *, actor):
    """`memberships` annotated with `may_unlock` and `login_locked` (one
    query); `login_locked` is False wherever `may_unlock` is, so neither the
    column nor its sorting tells anything about those accounts."""
    unlockable = users_unlockable_by(actor).filter(pk=OuterRef("user_id"))
    locked = _locked_pairs().filter(username=OuterRef("user__username"))
    return memberships.annotate(
        may_unlock=Exists(unlockable),
        login_locked=Case(When(Q(Exists(unlockable)) & Q(Exists(locked)), then=Value(True)),
                          default=Value(False), output_field=BooleanField()),
    )


def login_locked(username: str) -> bool:
    return _locked_pairs().filter(username=username).exists()


def login_unlock(*, actor, memberships) -> tuple[int, int]:
    """Lift the lock-out of these members' logins where `actor` may
    (`users_unlockable_by`). Returns (logins unlocked, memberships refused)."""
    allowed = set(users_unlockable_by(actor).values_list("pk", flat=True)
                  .filter(pk__in=memberships.values("user_id")))
    usernames, refused = set(), 0
    for membership in memberships.select_related("user"):
        if membership.user_id in allowed:
            usernames.add(membership.user.get_username())
        else:
            refused += 1
    unlocked = sum(1 for username in sorted(usernames) if reset(username=username))
    return unlocked, refused
