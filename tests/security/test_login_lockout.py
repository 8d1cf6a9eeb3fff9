"""The admin login lock-out (django-axes), through the real login form over
HTTP, as it runs behind the documented reverse proxy.

The live server plays the gunicorn behind nginx: requests from 127.0.0.1
are "the proxy" (FORWARDED_ALLOW_IPS) and carry the client's address in
X-Forwarded-For, as nginx's `$proxy_add_x_forwarded_for` writes it. A client
that reaches the server directly connects from 127.0.0.2. Refused passwords
lock the (client address, username) pair only: the owner, elsewhere, logs
in while an attacker is locked out, whatever the attacker writes into the
header. The lock-out page says so in the user's language; an agency owner
lifts the lock of the agency's members, a superuser anyone's.
"""

import re
from datetime import timedelta

import pytest
import requests
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone
from requests.adapters import HTTPAdapter

PASSWORD = "pw-123456!"  # make_member's default
OWNER_ADDRESS = "198.51.100.7"  # documentation addresses: header values, never dialled
ATTACKER_ADDRESS = "203.0.113.66"
LOCKED_TEXT = "Too many failed login attempts for this account from your address"


class _SourceAdapter(HTTPAdapter):
    """Connects from a chosen loopback address (another machine, as far as
    the server can tell)."""

    def __init__(self, source, **kwargs):
        self._source = source
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self._source, 0)
        super().init_poolmanager(*args, **kwargs)


class Visitor:
    """One browser: its own cookies, an optional X-Forwarded-For chain (what
    arrives after the proxy appended the client's address), an optional
    source address."""

    def __init__(self, base_url, *, forwarded_for=None, source=None, language="en"):
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Accept-Language"] = language
        if forwarded_for is not None:
            self.session.headers["X-Forwarded-For"] = forwarded_for
        if source is not None:
            self.session.mount("http://", _SourceAdapter(source))

    def _csrf(self, path):
        self.session.get(self.base_url + path, timeout=30)
        return self.session.cookies["csrftoken"]

    def login(self, username, password=PASSWORD):
        self.session.cookies.clear()
        token = self._csrf("/admin/login/")
        return self.session.post(
            self.base_url + "/admin/login/?next=/admin/",
            data={"username": username, "password": password, "next": "/admin/",
                  "csrfmiddlewaretoken": token},
            allow_redirects=False, timeout=30)

    def post_admin(self, path, data):
        token = self.session.cookies["csrftoken"]
        return self.session.post(self.base_url + path,
                                 data={**data, "csrfmiddlewaretoken": token},
                                 allow_redirects=True, timeout=30)


def logged_in(response):
    return response.status_code == 302 and response.headers["Location"] == "/admin/"


def locked(response):
    return response.status_code == 429 and LOCKED_TEXT in response.text


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.FORWARDED_ALLOW_IPS = ["127.0.0.1"]
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


@pytest.fixture
def staff(two_tenants):
    for key in ("a", "b"):
        for role in ("owner", "admin", "viewer"):
            user = two_tenants[key][role]
            user.is_staff = True
            user.save(update_fields=["is_staff"])
    return two_tenants


def _lock(visitor, username, limit=3):
    responses = [visitor.login(username, "wrong") for _ in range(limit)]
    assert [r.status_code for r in responses[:-1]] == [200] * (limit - 1)
    assert locked(responses[-1])  # the failure that reaches the limit says so at once


@pytest.mark.django_db(transaction=True)
def test_two_clients_behind_one_proxy_are_told_apart(live_server, behind_proxy, staff):
    owner = staff["a"]["owner"].username
    attacker = Visitor(live_server.url, forwarded_for=ATTACKER_ADDRESS)
    _lock(attacker, owner)
    assert locked(attacker.login(owner))  # even the right password, from there

    # The owner, behind the same proxy at another address, is not locked out.
    assert logged_in(Visitor(live_server.url, forwarded_for=OWNER_ADDRESS).login(owner))
    # Nor is another user at the attacker's address.
    assert logged_in(attacker.login(staff["a"]["admin"].username))


@pytest.mark.django_db(transaction=True)
def test_a_client_cannot_pick_its_address_by_writing_the_header(live_server, behind_proxy,
                                                                staff):
    owner = staff["a"]["owner"].username
    # Behind the proxy: whatever the attacker writes stays left of the address
    # the proxy appends; new spoofed entries (even the owner's address, even an
    # unbalanced quote that would swallow the rest) do not start a new count.
    spoofs = [f"{OWNER_ADDRESS}, {ATTACKER_ADDRESS}", f"10.9.8.7, {ATTACKER_ADDRESS}",
              f'"x, {ATTACKER_ADDRESS}']
    responses = [Visitor(live_server.url, forwarded_for=chain).login(owner, "wrong")
                 for chain in spoofs]
    assert [r.status_code for r in responses[:2]] == [200, 200]
    assert locked(responses[2])
    assert locked(Visitor(live_server.url, forwarded_for=f"1.2.3.4, {ATTACKER_ADDRESS}"
                          ).login(owner))
    assert logged_in(Visitor(live_server.url, forwarded_for=OWNER_ADDRESS).login(owner))

    # A client that reaches the server directly (not from the proxy's address)
    # is counted at its own address, whatever header it sends.
    direct = Visitor(live_server.url, forwarded_for=OWNER_ADDRESS, source="127.0.0.2")
    _lock(direct, staff["a"]["admin"].username)
    assert logged_in(Visitor(live_server.url, forwarded_for=OWNER_ADDRESS).login(
        staff["a"]["admin"].username))
    assert locked(Visitor(live_server.url, forwarded_for="192.0.2.1", source="127.0.0.2"
                          ).login(staff["a"]["admin"].username))


@pytest.mark.django_db(transaction=True)
def test_lockout_message_is_translated_and_the_window_passes(live_server, behind_proxy, staff):
    owner = staff["a"]["owner"].username
    russian = Visitor(live_server.url, forwarded_for=OWNER_ADDRESS, language="ru")
    for _ in range(2):
        russian.login(owner, "wrong")
    response = russian.login(owner, "wrong")
    assert response.status_code == 429
    assert "Слишком много неудачных попыток входа" in response.text
    assert "15" in re.sub(r"<[^>]+>", " ", response.text)  # minutes until the lock lifts
    assert LOCKED_TEXT not in response.text

    with time_machine.travel(timezone.now() + timedelta(minutes=14)):
        assert locked(Visitor(live_server.url, forwarded_for=OWNER_ADDRESS).login(owner))
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert logged_in(Visitor(live_server.url, forwarded_for=OWNER_ADDRESS).login(owner))


@pytest.mark.django_db(transaction=True)
def test_owner_unlocks_own_members_only_and_superuser_unlocks_anyone(live_server, behind_proxy,
                                                                     staff):
    from integration.models import Membership

    member_a = staff["a"]["viewer"]
    member_b = staff["b"]["viewer"]
    for member in (member_a, member_b):
        _lock(Visitor(live_server.url, forwarded_for=OWNER_ADDRESS), member.username)

    owner_a = Visitor(live_server.url, forwarded_for="192.0.2.10")
    assert logged_in(owner_a.login(staff["a"]["owner"].username))
    changelist = owner_a.session.get(live_server.url + "/admin/integration/membership/",
                                     timeout=30)
    assert changelist.status_code == 200
    assert member_a.username in changelist.text and member_b.username not in changelist.text
    membership_a = Membership.objects.get(user=member_a)
    membership_b = Membership.objects.get(user=member_b)
    # Agency B's membership is not even selectable for A's owner: asking
    # anyway changes nothing.
    response = owner_a.post_admin("/admin/integration/membership/", {
        "action": "unlock_login", "_selected_action": [membership_a.pk, membership_b.pk]})
    assert response.status_code == 200
    assert "Unlocked 1 login." in response.text
    assert logged_in(Visitor(live_server.url, forwarded_for=OWNER_ADDRESS).login(
        member_a.username))
    assert locked(Visitor(live_server.url, forwarded_for=OWNER_ADDRESS).login(
        member_b.username))

    # An admin of agency A (not its owner) has no such action.
    admin_a = Visitor(live_server.url, forwarded_for="192.0.2.11")
    assert logged_in(admin_a.login(staff["a"]["admin"].username))
    _lock(Visitor(live_server.url, forwarded_for=OWNER_ADDRESS), member_a.username)
    admin_a.post_admin("/admin/integration/membership/", {
        "action": "unlock_login", "_selected_action": [membership_a.pk]})
    assert locked(Visitor(live_server.url, forwarded_for=OWNER_ADDRESS).login(
        member_a.username))

    # A superuser unlocks anyone.
    get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    root = Visitor(live_server.url, forwarded_for="192.0.2.12")
    assert logged_in(root.login("root"))
    response = root.post_admin("/admin/integration/membership/", {
        "action": "unlock_login", "_selected_action": [membership_a.pk, membership_b.pk]})
    assert "Unlocked 2 logins." in response.text
    for member in (member_a, member_b):
        assert logged_in(Visitor(live_server.url, forwarded_for=OWNER_ADDRESS).login(
            member.username))


@pytest.mark.django_db(transaction=True)
def test_membership_list_shows_who_is_locked(live_server, behind_proxy, staff):
    member = staff["a"]["viewer"]
    _lock(Visitor(live_server.url, forwarded_for=OWNER_ADDRESS), member.username)
    owner = Visitor(live_server.url, forwarded_for="192.0.2.10")
    assert logged_in(owner.login(staff["a"]["owner"].username))
    page = owner.session.get(live_server.url + "/admin/integration/membership/",
                             timeout=30).text
    rows = re.findall(r"<tr[^>]*>.*?</tr>", page, re.S)
    member_row = next(r for r in rows if member.username in r)
    other_row = next(r for r in rows if staff["a"]["admin"].username in r)
    assert 'alt="True"' in member_row.split("field-login_state")[1][:200]
    assert 'alt="False"' in other_row.split("field-login_state")[1][:200]


@pytest.mark.django_db(transaction=True)
def test_refused_logins_go_with_the_personal_data_purge_but_not_inside_the_window(
        live_server, behind_proxy, staff, settings):
    """Refused-login records hold usernames and addresses: the hourly purge
    removes them after AUTH_FAILURE_RETENTION_HOURS, never while they still
    hold a lock."""
    from axes.models import AccessAttempt

    from integration.ops.retention import logs_purge

    settings.INTEGRATION = {**settings.INTEGRATION, "AUTH_FAILURE_RETENTION_HOURS": 0}
    owner = staff["a"]["owner"].username
    _lock(Visitor(live_server.url, forwarded_for=ATTACKER_ADDRESS), owner)
    stored = AccessAttempt.objects.get()
    assert (stored.username, stored.ip_address) == (owner, ATTACKER_ADDRESS)
    logs_purge()  # retention 0 hours, but the lock still holds: kept
    assert AccessAttempt.objects.count() == 1
    assert locked(Visitor(live_server.url, forwarded_for=ATTACKER_ADDRESS).login(owner))
    logs_purge(now=timezone.now() + timedelta(minutes=16))
    assert not AccessAttempt.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_owner_can_neither_attach_nor_unlock_another_agencys_owner_or_a_superuser(
        live_server, behind_proxy, staff):
    """The finding: B's owner (and the superuser), locked out, were invited
    by A's owner, became A's members without being asked, showed "login
    locked" in A's list, and A's owner unlocked them. Now the invitation
    grants nothing until accepted, and even an accepted member who also
    belongs to B stays out of A's owner's reach: no state shown (not even
    "not locked"), no unlock."""
    from django.core import mail

    from integration.models import Membership

    root = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    owner_b = staff["b"]["owner"]
    for victim in (owner_b.username, root.username):
        _lock(Visitor(live_server.url, forwarded_for=ATTACKER_ADDRESS), victim)

    owner_a = Visitor(live_server.url, forwarded_for="192.0.2.10")
    assert logged_in(owner_a.login(staff["a"]["owner"].username))
    owner_a.session.get(live_server.url + "/admin/integration/membership/invite/", timeout=30)
    for email in (owner_b.email, root.email):
        response = owner_a.post_admin("/admin/integration/membership/invite/", {
            "agency": staff["a"]["agency"].pk, "email": email, "role": "viewer"})
        assert response.status_code == 200 and "Invitation sent to" in response.text
    assert not Membership.objects.filter(agency=staff["a"]["agency"],
                                         user__in=[owner_b, root]).exists()
    page = owner_a.session.get(live_server.url + "/admin/integration/membership/",
                               timeout=30).text
    assert owner_b.username not in page and ">root<" not in page

    # B's owner accepts (their own choice): a member of A and of B.
    link = next(m for m in mail.outbox if m.to == [owner_b.email])
    path = re.search(r"https?://[^/\s]+(/accounts/invitation/[^/\s]+/)", link.body).group(1)
    victim = Visitor(live_server.url, forwarded_for=OWNER_ADDRESS)
    victim.session.cookies.clear()
    token = victim._csrf("/admin/login/")
    victim.session.post(live_server.url + "/admin/login/", data={
        "username": owner_b.username, "password": PASSWORD, "next": path,
        "csrfmiddlewaretoken": token}, timeout=30)
    victim.post_admin(path, {"accept": "1"})
    membership = Membership.objects.get(agency=staff["a"]["agency"], user=owner_b)

    page = owner_a.session.get(live_server.url + "/admin/integration/membership/?o=4",
                               timeout=30).text
    rows = re.findall(r"<tr[^>]*>.*?</tr>", page, re.S)
    victim_row = next(r for r in rows if owner_b.username in r)
    cell = victim_row.split("field-login_state")[1][:200]
    assert 'alt="True"' not in cell and 'alt="False"' not in cell
    response = owner_a.post_admin("/admin/integration/membership/", {
        "action": "unlock_login", "_selected_action": [membership.pk]})
    assert "Unlocked" not in response.text
    for username in (owner_b.username, root.username):
        assert locked(Visitor(live_server.url, forwarded_for=ATTACKER_ADDRESS).login(username))


@pytest.mark.django_db(transaction=True)
def test_admins_and_viewers_see_no_lock_state(live_server, behind_proxy, staff):
    member = staff["a"]["viewer"]
    _lock(Visitor(live_server.url, forwarded_for=OWNER_ADDRESS), member.username)
    for role in ("admin", "viewer"):
        visitor = Visitor(live_server.url, forwarded_for="192.0.2.11")
        assert logged_in(visitor.login(staff["a"][role].username))
        page = visitor.session.get(live_server.url + "/admin/integration/membership/",
                                   timeout=30).text
        assert member.username in page
        assert "field-login_state" not in page and "unlock_login" not in page
