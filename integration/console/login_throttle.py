"""Admin login throttle: refused passwords are counted per username and
client address; past the limit the form refuses before checking the password.

Why per username *and* address: per username alone would let anyone lock an
owner out from anywhere; per address alone would let a botnet try one
password per address forever against one account. Counting in the database
(`AuthFailure` rows, one INSERT per refusal, counted over a sliding window)
holds across every gunicorn worker and machine, which a cache counter read
then written would not. Old rows go with the personal-data purge.
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from integration.models import AuthFailure

KEY_PREFIX = "admin-login:"


def _limits() -> tuple[int, timedelta]:
    knobs = settings.INTEGRATION
    return (knobs.get("ADMIN_LOGIN_FAILURE_LIMIT", 5),
            timedelta(seconds=knobs.get("ADMIN_LOGIN_FAILURE_WINDOW", 900)))


def login_failure_key(username: str, address: str) -> str:
    """The username is hashed: the key column is short and need not hold names."""
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:24]
    return f"{KEY_PREFIX}{address[:64]}:{digest}"


def login_locked(key: str) -> bool:
    limit, window = _limits()
    since = timezone.now() - window
    return AuthFailure.objects.filter(key=key, created_at__gte=since).count() >= limit


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "throttled": _("Too many failed login attempts for this account from your address. "
                       "Try again in %(minutes)d minutes."),
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        key = login_failure_key(username, address)
        if username and login_locked(key):
            minutes = max(1, int(_limits()[1].total_seconds() // 60))
            raise ValidationError(self.error_messages["throttled"], code="throttled",
                                  params={"minutes": minutes})
        try:
            return super().clean()
        except ValidationError:
            if username:
                AuthFailure.objects.create(key=key)
            raise
