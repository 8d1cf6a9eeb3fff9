"""Who may use the wizard, and on which drafts.

Why: the wizard creates shops, stores keys and issues webhook secrets; an
agency's viewer must not, and another agency's people must not even learn
that a draft exists (404, like a missing one). These run with the test
client: no vendor is called before the access checks answer.
"""

import uuid

import pytest

from integration.models import (
    EventSource,
    InboundEvent,
    ReplyTemplate,
    Role,
    SecretKind,
    Shop,
    ShopSecret,
    ShopSettings,
)
from tests.fixtures_portal import hidden_fields
from tests.refusals import not_found


@pytest.fixture
def draft(two_tenants):
    return Shop.objects.create(agency=two_tenants["a"]["agency"], name="Draft A", active=False)


STEPS = ["retailcrm", "hde", "priorities", "hooks", "check", "live"]


@pytest.mark.django_db
@pytest.mark.parametrize("step", STEPS)
def test_other_agency_gets_404_for_each_step(client, two_tenants, draft, step):
    client.force_login(two_tenants["b"]["owner"])
    url = f"/admin/console/add-shop/{draft.public_id}/{step}/"
    assert not_found(client.get(url))
    # The dashboard says so in the reader's words: no error page (with
    # DEBUG on, Django's lists every URL pattern), no name of the draft.
    page = client.get(url, follow=True, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Не найдено (возможно, удалено)." in page and "Draft A" not in page
    assert not_found(client.post(url, {"issue": "1", "activate": "1"}))
    assert not ShopSecret.objects.filter(shop=draft).exists()
    draft.refresh_from_db()
    assert not draft.active


@pytest.mark.django_db
@pytest.mark.parametrize("step", STEPS)
def test_viewer_gets_403_for_each_step(client, two_tenants, draft, step):
    client.force_login(two_tenants["a"]["viewer"])
    url = f"/admin/console/add-shop/{draft.public_id}/{step}/"
    assert client.get(url).status_code == 403
    assert client.post(url, {"issue": "1"}).status_code == 403
    assert not ShopSecret.objects.filter(shop=draft).exists()


@pytest.mark.django_db
def test_viewer_cannot_start_and_unknown_draft_is_404(client, two_tenants):
    client.force_login(two_tenants["a"]["viewer"])
    assert client.get("/admin/console/add-shop/").status_code == 403
    html = client.get("/admin/console/").content.decode()
    assert 'id="console-add-shop"' not in html
    index = client.get("/admin/").content.decode()
    assert "Agency dashboard" in index and "/admin/console/add-shop/" not in index
    client.force_login(two_tenants["a"]["admin"])
    assert not_found(client.get(f"/admin/console/add-shop/{uuid.uuid4()}/hde/"))


@pytest.mark.django_db
def test_agency_choices_are_the_users_own(client, two_tenants, make_member):
    owner = two_tenants["a"]["owner"]
    client.force_login(owner)
    html = client.get("/admin/console/add-shop/").content.decode()
    assert "Agency A" in html and "Agency B" not in html
    # A forged POST naming agency B is refused by the form: no shop is made.
    response = client.post("/admin/console/add-shop/", {
        "agency": two_tenants["b"]["agency"].pk, "name": "Sneaky", "language": "en",
        "base_url": "https://x.retailcrm.example", "api_key": "k" * 20})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Shop.objects.filter(name="Sneaky").exists()


@pytest.mark.django_db
def test_a_user_viewer_here_and_admin_there_sees_only_the_editable_agency(
        client, two_tenants, make_member):
    from integration.models import Membership

    user = two_tenants["a"]["viewer"]
    Membership.objects.create(user=user, agency=two_tenants["b"]["agency"], role=Role.ADMIN)
    client.force_login(user)
    html = client.get("/admin/console/add-shop/").content.decode()
    assert "Agency B" in html and "Agency A" not in html


def _issue_form(client, url, **extra):
    """The webhooks step's form as the page renders it, with its button."""
    return hidden_fields(client.get(url).content.decode(), issue="1", **extra)


@pytest.mark.django_db
def test_secrets_shown_once_then_only_reissued(client, two_tenants, draft):
    client.force_login(two_tenants["a"]["admin"])
    url = f"/admin/console/add-shop/{draft.public_id}/hooks/"
    first = client.post(url, _issue_form(client, url)).content.decode()
    assert 'id="hde-secret"' in first
    again = client.get(url).content.decode()
    assert 'id="hde-secret"' not in again and "not shown again" in again
    client.post(url, hidden_fields(again, issue="1"))
    # Reissuing revoked the first pair: one active secret of each kind.
    active = ShopSecret.objects.filter(shop=draft, revoked_at__isnull=True)
    assert sorted(active.values_list("kind", flat=True)) == sorted(
        [SecretKind.HDE_WEBHOOK, SecretKind.RETAILCRM_TRIGGER])


@pytest.mark.django_db
def test_first_webhook_status_is_the_shops_own(client, two_tenants, draft):
    """The live check's status: another agency's owner can neither see nor
    poll it (404, like a shop that does not exist); the shop's own viewer may."""
    url = f"/admin/console/shops/{draft.public_id}/first-webhook/"
    client.force_login(two_tenants["b"]["owner"])
    assert not_found(client.get(url))
    assert not_found(client.get(f"/admin/console/shops/{uuid.uuid4()}/first-webhook/"))
    client.force_login(two_tenants["a"]["viewer"])
    waiting = client.get(url).content.decode()
    assert "Waiting for the first webhook" in waiting and "data-settled" not in waiting
    InboundEvent.objects.create(shop=draft, source=EventSource.HDE_WEBHOOK,
                                source_key="new_ticket:7", event_type="new_ticket")
    arrived = client.get(url).content.decode()
    assert "The first webhook arrived" in arrived and "(New ticket)" in arrived
    client.force_login(two_tenants["b"]["owner"])
    assert not_found(client.get(url))


@pytest.mark.django_db
def test_marking_reviewed_is_for_the_shops_editors(client, two_tenants, draft):
    url = f"/admin/console/shops/{draft.public_id}/reviewed/rules/"
    client.force_login(two_tenants["b"]["owner"])
    assert not_found(client.post(url))
    client.force_login(two_tenants["a"]["viewer"])
    assert client.post(url).status_code == 403
    # The viewer reads the list, without the button.
    listing = client.get(f"/admin/integration/priorityrule/?shop__id__exact={draft.pk}")
    assert 'id="review-box"' in listing.content.decode()
    assert 'name="reviewed"' not in listing.content.decode()
    assert not ShopSettings.objects.filter(shop=draft, rules_reviewed_at__isnull=False).exists()
    client.force_login(two_tenants["a"]["admin"])
    assert client.get(url).status_code == 405
    assert not_found(client.post(f"/admin/console/shops/{draft.public_id}/reviewed/other/"))
    assert client.post(url)["Location"] == "/admin/"
    assert ShopSettings.objects.get(shop=draft).rules_reviewed_at is not None
    assert ShopSettings.objects.get(shop=draft).templates_reviewed_at is None


@pytest.mark.django_db
def test_saving_a_template_counts_as_reviewing_the_templates(client, two_tenants, draft):
    template = ReplyTemplate.objects.create(shop=draft, name="Hello", language="en",
                                            body="Hello, {{ customer.first_name }}!")
    client.force_login(two_tenants["a"]["admin"])
    response = client.post(f"/admin/integration/replytemplate/{template.pk}/change/", {
        "shop": draft.pk, "name": "Hello", "language": "en", "active": "on", "position": 0,
        "body": "Hello, {{ customer.first_name }}! Thank you.", "order_status_groups": ""})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert ShopSettings.objects.get(shop=draft).templates_reviewed_at is not None


@pytest.mark.django_db
def test_add_shop_is_always_the_wizard_and_view_site_is_real(client, two_tenants):
    client.force_login(two_tenants["a"]["owner"])
    response = client.get("/admin/integration/shop/add/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/console/add-shop/"
    dashboard = client.get("/admin/").content.decode()  # the index is the dashboard
    assert 'id="getting-started"' in dashboard
    assert '<a href="/">View site</a>' in dashboard
    home = client.get("/")
    assert home.status_code == 200
    html = home.content.decode()
    assert 'href="/admin/"' in html and 'href="/extension/"' in html
    client.logout()
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="ru").content.decode().count("Консоль агентства")


@pytest.mark.django_db
def test_reissuing_on_an_active_shop_asks_first(client, two_tenants, draft):
    """New secrets revoke the old ones at once: on a live shop that refuses
    its webhooks until both vendors are updated, so the page asks first
    (a box to tick) and a POST without it changes nothing."""
    client.force_login(two_tenants["a"]["admin"])
    url = f"/admin/console/add-shop/{draft.public_id}/hooks/"
    client.post(url, _issue_form(client, url))  # a draft's first secrets: no question
    draft.active = True
    draft.save(update_fields=["active"])
    before = set(ShopSecret.objects.filter(shop=draft, revoked_at__isnull=True)
                 .values_list("pk", flat=True))
    page = client.get(url).content.decode()
    assert 'name="confirm"' in page and "Draft A" in page

    refused = client.post(url, hidden_fields(page, issue="1")).content.decode()
    assert "Nothing was issued" in refused and 'id="hde-secret"' not in refused
    assert set(ShopSecret.objects.filter(shop=draft, revoked_at__isnull=True)
               .values_list("pk", flat=True)) == before

    confirmed = client.post(url, hidden_fields(page, issue="1", confirm="yes")).content.decode()
    assert 'id="hde-secret"' in confirmed
    after = set(ShopSecret.objects.filter(shop=draft, revoked_at__isnull=True)
                .values_list("pk", flat=True))
    assert len(after) == 2 and not after & before


def _active_pks(shop):
    return set(ShopSecret.objects.filter(shop=shop, revoked_at__isnull=True)
               .values_list("pk", flat=True))


@pytest.mark.django_db
def test_the_page_that_shows_the_secrets_sent_again_issues_nothing(client, two_tenants, draft):
    """The secrets are shown on the answer to the POST that issued them; a
    reload sends that POST again. It must not revoke what the admin has just
    pasted into HDE and RetailCRM, and the page says why nothing is shown."""
    client.force_login(two_tenants["a"]["admin"])
    url = f"/admin/console/add-shop/{draft.public_id}/hooks/"
    form = _issue_form(client, url)
    first = client.post(url, form).content.decode()
    assert 'id="hde-secret"' in first
    issued = _active_pks(draft)

    reload = client.post(url, form, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert 'id="hde-secret"' not in reload and _active_pks(draft) == issued
    assert "Ничего не выпущено повторно" in reload and "в другой вкладке" in reload

    # The shop page lists them as issued in the wizard, in the reader's words.
    listing = client.get(f"/admin/integration/shop/{draft.pk}/change/",
                         HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "мастер подключения" in listing and ">wizard<" not in listing

    # Coming back to the step and pressing its button still issues anew.
    second = client.post(url, _issue_form(client, url)).content.decode()
    assert 'id="hde-secret"' in second and not _active_pks(draft) & issued


@pytest.mark.django_db
def test_the_webhooks_step_issues_only_from_its_own_users_page(client, two_tenants, draft):
    """Another admin's page, a forged or missing record: nothing is issued."""
    client.force_login(two_tenants["a"]["owner"])
    url = f"/admin/console/add-shop/{draft.public_id}/hooks/"
    owners = _issue_form(client, url)
    client.force_login(two_tenants["a"]["admin"])
    for form in (owners, {**owners, "seen": ["forged"]}, {"issue": ["1"]}):
        page = client.post(url, form).content.decode()
        assert "more than an hour ago or by another user" in page and 'id="hde-secret"' not in page
    assert _active_pks(draft) == set()
