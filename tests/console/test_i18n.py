"""Russian and English: catalogs complete, vendor texts and screens per shop or browser.

The portal writes into HDE and RetailCRM in the shop's language and renders
the widget in it; the admin follows the browser (LocaleMiddleware). These
tests read the catalog the way a translator would (the .po file), then walk
the user's paths: texts a Russian shop sends to vendors, the widget page of a
Russian shop over real HTTP, and the admin asked for in Russian.
"""

import gettext
import html
import json
import re
import subprocess
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings

from integration.customers.types import (
    ContextStatus,
    CustomerContext,
    CustomerProfile,
    Delivery,
    Manager,
    OrderSummary,
)
from integration.orders import texts as order_texts
from integration.tickets import texts as ticket_texts
from integration.tickets.priority import Decision
from integration.widget.links import widget_link_build
from sandbox.hde.services import unique_id_for
from tests.screenshots import save_screenshot

RU_PO = Path(django_settings.BASE_DIR) / "locale" / "ru" / "LC_MESSAGES" / "django.po"
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
TICKET_IVAN = 3  # the HDE emulator's seeded ticket of a known RetailCRM customer


def _po_entries(path: Path) -> list[dict]:
    """A small .po reader: enough to see msgid/msgid_plural/msgstr[n] and flags,
    so the check does not depend on a translation library."""
    entries, current, key = [], None, None

    def unquote(text):
        return bytes(text.strip()[1:-1], "utf-8").decode("unicode_escape").encode(
            "latin-1").decode("utf-8")

    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line:
            if current is not None:
                entries.append(current)
            current, key = None, None
            continue
        if line.startswith("#~"):
            continue  # obsolete entries are not used by gettext
        if current is None:
            current = {"flags": set(), "msgstr": {}}
        if line.startswith("#,"):
            current["flags"].update(f.strip() for f in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith("msgid_plural "):
            key, current["msgid_plural"] = "msgid_plural", unquote(line[13:])
        elif line.startswith("msgid "):
            key, current["msgid"] = "msgid", unquote(line[6:])
        elif line.startswith("msgstr["):
            index = int(line[7:line.index("]")])
            key = ("msgstr", index)
            current["msgstr"][index] = unquote(line[line.index("]") + 1:])
        elif line.startswith("msgstr "):
            key = ("msgstr", 0)
            current["msgstr"][0] = unquote(line[7:])
        elif line.startswith('"') and key is not None:
            if isinstance(key, tuple):
                current["msgstr"][key[1]] += unquote(line)
            else:
                current[key] += unquote(line)
    return entries


def test_russian_catalog_is_complete_and_not_fuzzy():
    entries = _po_entries(RU_PO)
    header = next(e for e in entries if e.get("msgid") == "")
    assert "fuzzy" not in header["flags"]
    assert "nplurals=3;" in header["msgstr"][0] and "Language: ru" in header["msgstr"][0]
    messages = [e for e in entries if e.get("msgid")]
    assert len(messages) > 500  # the whole portal, not a stub
    fuzzy = [e["msgid"] for e in messages if "fuzzy" in e["flags"]]
    assert fuzzy == []
    untranslated = [e["msgid"] for e in messages
                    if not e["msgstr"] or not all(e["msgstr"].values())]
    assert untranslated == []
    plural = [e for e in messages if "msgid_plural" in e]
    assert plural and all(sorted(e["msgstr"]) == [0, 1, 2] for e in plural)
    # Placeholders survive translation (a lost %(name)s raises at runtime).
    placeholder = re.compile(r"%\(\w+\)[sdr]|\{\{[^}]*\}\}")
    for entry in messages:
        source = sorted(placeholder.findall(entry.get("msgid_plural", entry["msgid"])))
        for text in entry["msgstr"].values():
            assert sorted(placeholder.findall(text)) in (
                source, sorted(placeholder.findall(entry["msgid"]))), entry["msgid"]


def test_catalog_compiles_with_russian_plurals(tmp_path):
    """msgfmt accepts the catalog with format checks (a broken .po fails here,
    not at deploy), and the compiled plural rule picks the three Russian forms."""
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(compiled), str(RU_PO)], check=True)
    with compiled.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)
    assert catalog.gettext("Agency console") == "Консоль агентства"
    forms = {n: catalog.ngettext("%(n)s order", "%(n)s orders", n) for n in (1, 3, 11, 22, 25)}
    assert forms == {1: "%(n)s заказ", 3: "%(n)s заказа", 11: "%(n)s заказов",
                     22: "%(n)s заказа", 25: "%(n)s заказов"}


def _found_context():
    return CustomerContext(
        status=ContextStatus.FOUND,
        customer=CustomerProfile(id=7, name="Петров Иван", orders_count=3, total_sum=4500),
        orders=[OrderSummary(id=1, number="1001A", status_code="send-to-delivery",
                             status_name="Передан в доставку", status_group="delivery",
                             bucket="active", created_at="2026-11-20T10:00:00+03:00",
                             total=1500, overdue=True)],
        manager=Manager(id=2, name="Смирнова Анна"))


def _summary():
    return OrderSummary(id=1, number="1001A", status_code="delivery-problem",
                        status_name="Проблема с доставкой", status_group="delivery",
                        bucket="active", created_at="2026-11-20T10:00:00+03:00", total=1500,
                        delivery=Delivery(type_name="Курьер", track_number="RA123"),
                        url="https://demo.retailcrm.example/orders/1")


@pytest.mark.django_db
def test_texts_written_to_vendors_follow_the_shop_language(make_agency, make_shop):
    agency = make_agency("Language agency")
    ru = make_shop(agency, name="Магазин", language="ru")
    en = make_shop(agency, name="Shop EN", language="en")
    decision = Decision(priority_rule="VIP")

    summary_ru = ticket_texts.summary_comment(shop=ru, context=_found_context(),
                                              decision=decision, widget_link="https://x/w/")
    assert "3 заказа" in summary_ru and "просрочен" in summary_ru
    assert "Менеджер: Смирнова Анна" in summary_ru and "Приоритет установлен правилом" in summary_ru
    assert "Открыть карточку клиента" in summary_ru
    summary_en = ticket_texts.summary_comment(shop=en, context=_found_context(),
                                              decision=decision, widget_link="https://x/w/")
    assert "3 orders" in summary_en and "Open the customer card" in summary_en
    assert not CYRILLIC.search(summary_en.replace("Петров Иван", "").replace(
        "Передан в доставку", "").replace("Смирнова Анна", ""))

    unknown = CustomerContext(status=ContextStatus.UNKNOWN)
    assert "Клиент RetailCRM для этого отправителя не найден" in ticket_texts.summary_comment(
        shop=ru, context=unknown, decision=Decision(), widget_link="https://x/w/")
    several = CustomerContext(status=ContextStatus.SEVERAL)
    assert "несколько клиентов" in ticket_texts.summary_comment(
        shop=ru, context=several, decision=Decision(), widget_link="https://x/w/")

    note = ticket_texts.customer_note(shop=ru, ticket_id=5, subject="Где заказ?")
    assert "/w/" not in note and "http" not in note  # no card link where everyone reads
    # The ticket by its number, in the shop's language (#5: no record, no number).
    assert "клиент обратился в поддержку" in note and note.startswith("Заявка #5:")
    assert "the customer wrote to support" in ticket_texts.customer_note(
        shop=en, ticket_id=5, subject="Where?")
    task = ticket_texts.manager_task(shop=ru, ticket_id=5, subject="Где заказ?",
                                     order_numbers=["1001A"])
    assert "клиент с заказом в доставке (1001A)" in task
    assert "customer with an order in delivery" in ticket_texts.manager_task(
        shop=en, ticket_id=5, subject="Where?", order_numbers=["1001A"])
    assert "закрыта" in ticket_texts.closing_note(shop=ru, ticket_id=5, subject="Где заказ?")
    assert "closed" in ticket_texts.closing_note(shop=en, ticket_id=5, subject="Where?")

    # Proactive tickets about a problem order.
    assert order_texts.problem_subject(shop=ru, summary=_summary()) == (
        "Проблема с доставкой: заказ 1001A")
    body = order_texts.problem_body(shop=ru, summary=_summary(), customer=None)
    assert "Заказ перешёл в статус" in body and "Трек-номер: RA123" in body
    assert "Открыть заказ в RetailCRM" in body
    assert "Здравствуйте" in order_texts.customer_notice(shop=ru, summary=_summary())
    assert "Hello!" in order_texts.customer_notice(shop=en, summary=_summary())
    assert "Heads-up" in order_texts.problem_comment(shop=en, summary=_summary())
    assert "Внимание" in order_texts.problem_comment(shop=ru, summary=_summary())


@pytest.fixture
def portal_url(settings, live_server):
    settings.PORTAL_BASE_URL = live_server.url
    return live_server.url


def test_widget_page_of_a_russian_shop_is_russian(portal_url, demo_shop):
    demo_shop.language = "ru"
    demo_shop.save(update_fields=["language"])
    response = requests.get(widget_link_build(shop=demo_shop, ticket_id=TICKET_IVAN), timeout=10)
    assert response.status_code == 200
    html = response.text
    assert '<html lang="ru"' in html or 'lang="ru"' in html
    for label in ("Заказы", "Потрачено", "Обновить", "Добавить заметку", "Задача менеджеру"):
        assert label in html, label
    for english in ("Task for the manager", "Add a note", "Spent"):
        assert f">{english}<" not in html, english

    demo_shop.language = "en"
    demo_shop.save(update_fields=["language"])
    response = requests.get(widget_link_build(shop=demo_shop, ticket_id=TICKET_IVAN), timeout=10)
    assert "Add a note" in response.text and "Добавить заметку" not in response.text


@pytest.mark.django_db
def test_admin_follows_the_browser_language(client, two_tenants):
    client.force_login(two_tenants["a"]["owner"])
    russian = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Портал RetailCRM ↔ HelpDeskEddy" in russian
    # The index is the agency dashboard: its checklist, and the models in the sidebar.
    assert "Панель агентства" in russian and "Первые шаги" in russian
    assert "Подключён" in russian and "Магазины" in russian
    english = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "RetailCRM ↔ HelpDeskEddy portal" in english and "Getting started" in english
    assert "Панель агентства" not in english
    # A Russian screen the console owns, with a Russian model name from the catalog.
    dashboard = client.get("/admin/console/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Панель агентства" in dashboard and "Добавить магазин" in dashboard



@pytest.mark.django_db
def test_russian_admin_titles_are_grammatical_for_any_model_name(client, two_tenants):
    """Django's Russian catalog glues a verb to the model name in the
    nominative ("Добавить еще один соответствие полей", "Изменить заявка");
    the console's catalog words them "verb: name", right for any noun."""
    client.force_login(two_tenants["a"]["owner"])
    shop = two_tenants["a"]["shop"]
    page = client.get(f"/admin/integration/shop/{shop.pk}/change/",
                      HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "| Изменение: магазин |" in page
    add_texts = [json.loads(html.unescape(attribute))["options"]["addText"]
                 for attribute in re.findall(r'data-inline-formset="([^"]+)"', page)]
    assert "Добавить ещё: Соответствие полей" in add_texts, add_texts
    assert "Добавить еще один" not in page and "Изменить магазин" not in page
    listing = client.get("/admin/integration/priorityrule/",
                         HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Выбор: правило приоритета" in listing
    assert "Добавить: правило приоритета" in listing


def test_a_russian_browser_and_a_russian_shop_in_chromium(browser, portal_url, demo_shop,
                                                           make_member, artifacts_dir):
    """The user's path in a real browser asking for Russian: log in, the agency
    console, then the widget of the Russian shop; screenshots for review."""
    owner = make_member(demo_shop.agency)
    context = browser.new_context(locale="ru-RU", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(f"{portal_url}/admin/login/?next=/admin/console/")
        page.fill("#id_username", owner.username)
        page.fill("#id_password", "pw-123456!")
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/console/")
        assert page.locator("html").get_attribute("lang") == "ru"
        body = page.locator("body").inner_text()
        assert "Панель агентства" in body and "Добавить магазин" in body
        assert demo_shop.name in body and "Agency dashboard" not in body
        save_screenshot(page, f"{artifacts_dir}/i18n-console-ru.png", full_page=True)

        page.goto(widget_link_build(shop=demo_shop, ticket_id=TICKET_IVAN))
        widget = page.locator("body").inner_text()
        assert "Петров Иван" in widget and "Добавить заметку" in widget
        assert "Задача менеджеру" in widget and "Add a note" not in widget
        save_screenshot(page, f"{artifacts_dir}/i18n-widget-ru.png", full_page=True)
    finally:
        context.close()


def test_a_task_from_the_russian_widget_is_worded_in_russian(portal_url, demo_shop):
    """The operator leaves the task text empty: the portal words it, in the
    shop's language, and confirms in it."""
    from sandbox.retailcrm.models import Task

    demo_shop.language = "ru"
    demo_shop.save(update_fields=["language"])
    url = widget_link_build(shop=demo_shop, ticket_id=TICKET_IVAN)
    page = requests.get(url, timeout=10).text
    task_form = page.split('data-action="task"')[1].split("</form>")[0]
    form = {name: value for name, value in re.findall(
        r'name="(\w+)" value="([^"]*)"', task_form)}
    form["text"] = ""
    answer = requests.post(url, data=form, timeout=10)
    assert "Задача для менеджера создана в RetailCRM" in answer.text
    texts = [t.doc["text"] for t in Task.objects.all()]
    # Named by HDE's ticket number, not the portal's id.
    assert f"Клиент обратился в поддержку (заявка {unique_id_for(TICKET_IVAN)})" in texts


def test_connection_test_speaks_the_admins_language(client, demo_shop, make_member,
                                                    rc_emulator):
    """"Test connections" in a Russian browser: both summaries in Russian, and a
    key without rights is a warning that names the features it turns off
    (judged from the rights, not from the English wording)."""
    from django.contrib.messages import get_messages
    from django.urls import reverse

    from integration.models import Role

    client.force_login(make_member(demo_shop.agency, Role.ADMIN, username="ru-admin"))

    def run():
        response = client.post(reverse("admin:integration_shop_changelist"),
                               {"action": "test_connections", "_selected_action": [demo_shop.pk]},
                               follow=True, HTTP_ACCEPT_LANGUAGE="ru")
        return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)] or [
            (m.level_tag, str(m)) for m in response.context["messages"]]

    (rc_level, rc_text), (hde_level, hde_text) = run()
    assert rc_level == hde_level == "success"
    assert "Ключ работает" in rc_text and "все нужные права есть" in rc_text
    assert "Подключено к" in hde_text and "сотрудник" in hde_text
    demo_shop.retailcrm.api_key = rc_emulator.demo["restricted_keys"]["read_only"]
    demo_shop.retailcrm.save()
    level, text = run()[0]
    assert level == "warning" and "не хватает прав" in text
    assert "создавать задачи менеджерам" in text


def test_russian_day_and_month_read_in_the_genitive():
    """The admin's date drill-down writes "30 ноября", not "30 Ноябрь"
    (portal/formats/ru/formats.py over Django's "j F")."""
    import datetime

    from django.utils import dateformat, formats, translation

    with translation.override("ru"):
        shown = dateformat.format(datetime.date(2026, 11, 30),
                                  formats.get_format("MONTH_DAY_FORMAT"))
    assert shown == "30 ноября"
