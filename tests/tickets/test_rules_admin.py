"""Rules admin: HDE pickers, dry run, "try with e-mail", tenant scoping."""

import re

import pytest
from django.urls import reverse

from integration.models import ApiCall, PriorityRule, Role, TicketRecord
from integration.onboarding.shop_defaults import shop_defaults_apply
from tests.fixtures_portal import STANDARD, URGENT


@pytest.fixture
def owner_client(client, demo_shop, make_member):
    shop_defaults_apply(shop=demo_shop, normal_priority_id=STANDARD, high_priority_id=URGENT)
    client.force_login(make_member(demo_shop.agency, Role.OWNER, username="rules-owner"))
    return client


def test_priority_pickers_show_hde_names(owner_client, demo_shop):
    rule = PriorityRule.objects.for_shop(demo_shop).first()
    page = owner_client.get(reverse("admin:integration_priorityrule_change", args=[rule.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert '<select name="set_priority_id"' in html and ">Срочно</option>" in html
    assert "(#" not in html  # names, never HDE's ids
    shop_page = owner_client.get(reverse("admin:integration_shop_change", args=[demo_shop.pk]),
                                 HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert '<select name="settings-0-high_priority_id"' in shop_page
    # Fields by name and kind in the reader's language, never HDE's type code.
    assert re.search(r">[^<]+ \(текст\)</option>", shop_page)
    assert "(text)" not in shop_page and "(select)" not in shop_page


def test_pickers_fall_back_to_ids_when_hde_is_down(owner_client, demo_shop):
    from django.core.cache import cache

    from sandbox.hde.models import Account

    cache.clear()
    Account.objects.filter(code="demo").update(fault_kind="500", fault_next=50)
    rule = PriorityRule.objects.for_shop(demo_shop).first()
    html = owner_client.get(reverse("admin:integration_priorityrule_change",
                                    args=[rule.pk])).content.decode()
    assert 'name="set_priority_id"' in html and '<select name="set_priority_id"' not in html
    assert "HelpDeskEddy lists are unavailable" in html


def test_try_with_email_explains_the_decision_in_words(owner_client, demo_shop):
    response = owner_client.get(reverse("admin:integration_priorityrule_try_email"),
                                {"shop": demo_shop.pk, "email": "anna.smirnova@example.ru"},
                                HTTP_ACCEPT_LANGUAGE="ru")
    html = response.content.decode()
    assert response.status_code == 200
    assert "data-priority>Срочно<" in html  # HDE's name, not its id
    assert 'data-rule="VIP-клиент" data-matched="yes"' in html
    assert 'data-rule="Новый клиент" data-matched="no"' in html
    actual = re.findall(r"<span data-actual>([^<]*)</span>", html)
    assert "да" in actual and "нет" in actual  # yes/no, never True/False
    assert any("₽" in value for value in actual)  # money in the shop's currency
    assert not {"True", "False", "None", "[]"} & set(actual)
    # Status groups by RetailCRM's name, not their codes.
    assert "в статусе из группы Доставка" in html or "Доставка" in html
    assert "равно delivery" not in html


def test_try_with_email_needs_an_email_and_the_dry_run_does_not(owner_client, demo_shop):
    response = owner_client.get(reverse("admin:integration_priorityrule_try_email"),
                                {"shop": demo_shop.pk})
    assert response.context["form"].errors["email"]
    dry = owner_client.get(reverse("admin:integration_priorityrule_dry_run"),
                           {"shop": demo_shop.pk})
    assert "email" not in dry.context["form"].fields and dry.context["rows"] == []


def test_conditions_offer_only_the_operators_of_their_field(owner_client, demo_shop):
    rule = PriorityRule.objects.for_shop(demo_shop).get(position=10)  # VIP
    url = reverse("admin:integration_priorityrule_change", args=[rule.pk])
    html = owner_client.get(url, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert 'value="vip" data-operators="true false"' in html
    assert 'data-value-pick="status_groups"' in html and ">Доставка</option>" in html
    condition = rule.conditions.get()
    form = {"shop": demo_shop.pk, "position": 10, "name": rule.name, "active": "on",
            "match": "all", "set_priority_id": URGENT, "add_tags": "vip",
            "set_field_value": "", "conditions-TOTAL_FORMS": 2, "conditions-INITIAL_FORMS": 1,
            "conditions-MIN_NUM_FORMS": 0, "conditions-MAX_NUM_FORMS": 1000,
            "conditions-0-id": condition.pk, "conditions-0-rule": rule.pk,
            "conditions-0-field": "vip", "conditions-0-operator": "gte",
            "conditions-0-value": "5", "conditions-1-rule": rule.pk,
            "conditions-1-field": "order_in_group", "conditions-1-operator": "eq",
            "conditions-1-value": "", "conditions-1-value__status_groups": "delivery"}
    refused = owner_client.post(url, form)
    assert refused.status_code == 200  # "at least" makes no sense for a yes/no fact
    assert "does not apply" in refused.content.decode()
    form["conditions-0-operator"] = "true"
    saved = owner_client.post(url, form)
    assert saved.status_code == 302
    assert sorted(rule.conditions.values_list("field", "operator", "value")) == [
        ("order_in_group", "eq", "delivery"), ("vip", "true", "")]


def test_dry_run_lists_recent_tickets_with_what_would_change(owner_client, demo_shop,
                                                             rc_people):
    TicketRecord.objects.create(shop=demo_shop, ticket_id=501, subject="Где заказ?",
                                customer_id=rc_people["vip"], priority_id=STANDARD)
    TicketRecord.objects.create(shop=demo_shop, ticket_id=502, subject="Вопрос",
                                customer_id=None, priority_id=STANDARD)
    html = owner_client.get(reverse("admin:integration_priorityrule_dry_run"),
                            {"shop": demo_shop.pk, "limit": 10},
                            HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    vip_row = html.split('data-ticket="501"')[1].split("</tr>")[0]
    assert 'class="would-set">Срочно<' in vip_row  # names, not HDE's ids
    assert '<tr class="dry-run-changes" data-ticket="501"' in html  # highlighted, first
    assert html.index('data-ticket="501"') < html.index('data-ticket="502"')
    assert "/ticket/list/filter/id/1/ticket/501/" in vip_row  # linked to the HDE ticket
    unknown_row = html.split('data-ticket="502"')[1].split("</tr>")[0]
    assert 'class="would-set">Стандартно<' in unknown_row


def test_other_agency_cannot_see_or_run_rules_of_this_shop(client, demo_shop, make_agency,
                                                           make_member):
    shop_defaults_apply(shop=demo_shop, normal_priority_id=STANDARD, high_priority_id=URGENT)
    stranger = make_member(make_agency("Stranger agency"), Role.OWNER, username="stranger")
    client.force_login(stranger)
    listing = client.get(reverse("admin:integration_priorityrule_changelist"))
    assert listing.status_code == 200 and listing.context["cl"].result_count == 0
    rule = PriorityRule.objects.for_shop(demo_shop).first()
    response = client.get(reverse("admin:integration_priorityrule_change", args=[rule.pk]))
    assert response.status_code == 302  # like a missing object
    dry = client.get(reverse("admin:integration_priorityrule_dry_run"),
                     {"shop": demo_shop.pk, "limit": 5})
    assert "dry-run" not in dry.content.decode()  # the shop is not a valid choice
    assert "Select a valid choice" in dry.content.decode()


def test_other_agency_cannot_test_this_shops_connections_or_dry_run_it(
        client, demo_shop, make_agency, make_member):
    from integration.models import ApiCall

    stranger = make_member(make_agency("Stranger agency"), Role.ADMIN, username="stranger2")
    client.force_login(stranger)
    calls = ApiCall.objects.count()
    url = reverse("admin:integration_shop_connection_test", args=[demo_shop.pk])
    # Like a missing shop: 404.
    assert client.post(url, HTTP_X_REQUESTED_WITH="fetch").status_code == 404
    assert client.get(url).status_code == 405
    dry = client.get(reverse("admin:integration_priorityrule_dry_run"),
                     {"shop": demo_shop.pk, "limit": 5})
    assert dry.context["rows"] is None and dry.context["form"].errors["shop"]
    tried = client.get(reverse("admin:integration_priorityrule_try_email"),
                       {"shop": demo_shop.pk, "email": "anna.smirnova@example.ru"})
    assert tried.context["result"] is None
    assert ApiCall.objects.count() == calls  # nothing was sent to the shop's vendors


def test_connection_test_without_scripts_answers_with_messages(owner_client, demo_shop):
    response = owner_client.post(
        reverse("admin:integration_shop_connection_test", args=[demo_shop.pk]), follow=True)
    texts = [str(m) for m in response.context["messages"]]
    assert response.redirect_chain[-1][0].endswith(f"/shop/{demo_shop.pk}/change/")
    assert any(t.startswith("RetailCRM: Key works") for t in texts)
    assert any(t.startswith("HelpDeskEddy: Connected to") for t in texts)


class _FormAsRendered(__import__("html.parser").parser.HTMLParser):
    """What a browser posts for the page's main form when nothing is
    touched: every input's value, checked boxes, each select's selected
    option (or its first)."""

    def __init__(self):
        super().__init__()
        self.data, self._select, self._first = {}, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.data[name] = attrs.get("value", "on" if attrs.get("type") == "checkbox" else "")
        elif tag == "select" and name:
            self._select, self._first = name, None
        elif tag == "option" and self._select:
            if self._first is None:
                self._first = attrs.get("value", "")
                self.data.setdefault(self._select, self._first)
            if "selected" in attrs:
                self.data[self._select] = attrs.get("value", "")
        elif tag == "textarea" and name:
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


@pytest.mark.parametrize("position", [10, 20, 30])
def test_saving_a_rule_unchanged_leaves_its_conditions_as_they_were(owner_client, demo_shop,
                                                                   position):
    """The spare condition row is posted as the page renders it; it must
    not become a condition (it used to add "customer is unknown is true")."""
    rule = PriorityRule.objects.for_shop(demo_shop).get(position=position)
    before = sorted(rule.conditions.values_list("field", "operator", "value"))
    url = reverse("admin:integration_priorityrule_change", args=[rule.pk])
    page = _FormAsRendered()
    page.feed(owner_client.get(url).content.decode())
    form = {k: v for k, v in page.data.items() if not k.startswith(("csrf", "_"))}
    assert "conditions-TOTAL_FORMS" in form and int(form["conditions-TOTAL_FORMS"]) > len(before)
    saved = owner_client.post(url, {**form, "_save": "Save"})
    assert saved.status_code == 302, saved.content.decode()[:3000]
    assert sorted(rule.conditions.values_list("field", "operator", "value")) == before


def test_a_status_created_a_moment_ago_is_there_to_pick(owner_client, demo_shop):
    """The rule form was opened (RetailCRM's lists cached for an hour), then
    a manager created a status in RetailCRM: the form offers it a minute
    later, by name."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from tests.workers import crm_status_create

    rule = PriorityRule.objects.for_shop(demo_shop).get(position=10)
    url = reverse("admin:integration_priorityrule_change", args=[rule.pk])
    assert ">Передан курьеру</option>" not in owner_client.get(url).content.decode()
    crm_status_create("courier-assigned", "Передан курьеру")
    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=True):
        html = owner_client.get(url).content.decode()
    assert 'value="courier-assigned">Передан курьеру</option>' in html


def test_an_hde_field_created_a_moment_ago_is_there_to_pick(owner_client, demo_shop):
    """The shop page was opened (HDE's lists cached for an hour), then the
    shop's HDE admin created a custom field: the page offers it a minute
    later; with HDE failing then, the lists in hand still serve."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from sandbox.hde.models import Account as HdeAccount
    from sandbox.hde.models import CustomField

    url = reverse("admin:integration_shop_change", args=[demo_shop.pk])
    assert "Номер накладной" not in owner_client.get(url).content.decode()
    account = HdeAccount.objects.get(code="demo")
    CustomField.objects.create(account=account, hid=90, name={"ru": "Номер накладной"})
    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=True):
        page = owner_client.get(url, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert re.search(r'<option value="90"[^>]*>Номер накладной \(текст\)</option>', page)

    CustomField.objects.create(account=account, hid=91, name={"ru": "Курьерская служба"})
    HdeAccount.objects.filter(pk=account.pk).update(fault_kind="500", fault_next=50)
    calls = ApiCall.objects.filter(shop=demo_shop, provider="helpdeskeddy")
    before = calls.count()
    with time_machine.travel(timezone.now() + timedelta(minutes=4), tick=True):
        for _ in range(5):  # an admin reloading while HDE fails
            page = owner_client.get(url, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
            assert "Номер накладной" in page and "Курьерская служба" not in page
            assert 'name="settings-0-high_priority_id"' in page and "<select" in page
    # One try per list, then the lists in hand for a minute; the failed
    # optional reads do not mark the connection as failing.
    assert calls.count() - before <= 4
    demo_shop.helpdeskeddy.refresh_from_db()
    assert demo_shop.helpdeskeddy.consecutive_failures == 0
