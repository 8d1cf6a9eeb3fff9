"""The shop's time zone is picked from a list, never typed.

Why: every date the widget, the console and the texts written into HDE show
is in this zone; a typo used to be caught only by a validator's error after
saving, and nothing told "Europe/Samara" from "Europe/Moscow" at a glance.
Driven through the admin's change page as a browser posts it.
"""

import pytest
from django.urls import reverse

from integration.models import Shop
from tests.tenancy.test_connections_form import _form_data


@pytest.fixture
def shop_page(client, two_tenants):
    tenant = two_tenants["a"]
    client.force_login(tenant["owner"])
    return client, reverse("admin:integration_shop_change", args=[tenant["shop"].pk]), tenant


@pytest.mark.django_db
def test_the_zone_is_a_list_with_offsets_and_the_current_one_chosen(shop_page):
    client, url, _tenant = shop_page
    html = client.get(url).content.decode()
    assert '<select name="timezone"' in html
    assert '<option value="Europe/Moscow" selected>Europe/Moscow (UTC+03:00)</option>' in html
    assert '<option value="Asia/Kolkata">Asia/Kolkata (UTC+05:30)</option>' in html


@pytest.mark.django_db
def test_picking_another_zone_saves_it_and_a_made_up_one_is_refused(shop_page):
    client, url, tenant = shop_page
    saved = client.post(url, _form_data(client.get(url), timezone="Asia/Yekaterinburg"))
    assert saved.status_code == 302
    assert Shop.objects.get(pk=tenant["shop"].pk).timezone == "Asia/Yekaterinburg"

    refused = client.post(url, _form_data(client.get(url), timezone="Mars/Olympus"))
    assert refused.status_code == 200
    assert "timezone" in refused.context["adminform"].form.errors
    assert Shop.objects.get(pk=tenant["shop"].pk).timezone == "Asia/Yekaterinburg"


@pytest.mark.django_db
def test_a_stored_zone_the_list_lacks_stays_selectable(shop_page):
    """A zone stored before (or dropped by a tz database update) must not
    make the page unsavable or silently switch to another one."""
    client, url, tenant = shop_page
    Shop.objects.filter(pk=tenant["shop"].pk).update(timezone="Etc/GMT-3")
    html = client.get(url).content.decode()
    assert 'value="Etc/GMT-3" selected' in html


@pytest.mark.django_db
def test_the_list_leaves_out_old_names_but_keeps_a_stored_one(shop_page):
    """Renamed zones (Europe/Kiev → Europe/Kyiv) and the old country names
    (US/Eastern) are links in the tz database: offering both names of one
    zone only makes people wonder which is right."""
    client, url, tenant = shop_page
    html = client.get(url).content.decode()
    assert 'value="Europe/Kyiv"' in html and 'value="America/New_York"' in html
    assert 'value="Europe/Kiev"' not in html and 'value="US/Eastern"' not in html
    Shop.objects.filter(pk=tenant["shop"].pk).update(timezone="Europe/Kiev")
    assert 'value="Europe/Kiev" selected' in client.get(url).content.decode()
