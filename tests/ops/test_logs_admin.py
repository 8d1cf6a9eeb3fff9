"""Sync-log screens through the Django test client: filters, the event
detail (its calls, its ticket's side effects, redacted excerpts), replay,
CSV export, and that agency A never sees or touches agency B's rows."""

import csv
import io

import pytest
from django.urls import reverse

from integration.inbox import events as inbox
from integration.models import (
    ApiCall,
    EventSource,
    EventState,
    HelpDeskEddyConnection,
    InboundEvent,
    RetailCrmConnection,
    Role,
    SideEffect,
    SideEffectState,
    TicketRecord,
    WidgetRequest,
)
from tests import inbox_handlers
from tests.refusals import not_found

RC_KEY_A = "rcrm-KeyOfShopA-9f8e7d6c5b4a"
HDE_KEY_A = "hde-KeyOfShopA-1a2b3c4d5e6f"
RC_KEY_B = "rcrm-KeyOfShopB-0000aaaa1111"


@pytest.fixture
def logs(two_tenants):
    """Per tenant: an event about HDE ticket 501 (A) / 601 (B) that is dead,
    calls it caused, a widget request, the ticket's record row and side
    effects. A's rows also carry A's keys as if stored before a redaction fix,
    so the screens' own redaction is what keeps them off the page."""
    a, b = two_tenants["a"]["shop"], two_tenants["b"]["shop"]
    RetailCrmConnection.objects.create(shop=a, base_url="https://a.retailcrm.example",
                                       api_key=RC_KEY_A)
    HelpDeskEddyConnection.objects.create(shop=a, base_url="https://a.helpdeskeddy.example",
                                          api_key=HDE_KEY_A, agent_email="bot@a.example")
    RetailCrmConnection.objects.create(shop=b, base_url="https://b.retailcrm.example",
                                       api_key=RC_KEY_B)
    rows = {}
    for key, shop, ticket in (("a", a, 501), ("b", b, 601)):
        event = InboundEvent.objects.create(
            shop=shop, source=EventSource.HDE_WEBHOOK, source_key=f"new_ticket:{ticket}",
            event_type="new_ticket", state=EventState.DEAD,
            payload={"ticket_id": ticket, "event": "new_ticket", "api_key": "payload-secret-xyz",
                     "subject": f"Where is my order {key}"},
            last_error=f"Gave up: 500 from vendor (apiKey={RC_KEY_A if key == 'a' else 'x'})")
        calls = [
            ApiCall.objects.create(
                shop=shop, provider="helpdeskeddy", method="GET", path=f"/api/v2/tickets/{ticket}/",
                status_code=200, event=event),
            ApiCall.objects.create(
                shop=shop, provider="retailcrm", method="GET",
                path=f"/api/v5/customers?filter[email]=x&leak={RC_KEY_A if key == 'a' else 'b'}",
                status_code=500, outcome="server_error", event=event,
                error=f"500 Internal error; key {RC_KEY_A if key == 'a' else RC_KEY_B} refused"),
        ]
        other = ApiCall.objects.create(shop=shop, provider="retailcrm", method="GET",
                                       path=f"/api/v5/reference/sites-{key}", status_code=200)
        TicketRecord.objects.create(shop=shop, ticket_id=ticket, subject=f"Where {key}",
                                    customer_id=77, order_number=f"{key}-1001")
        effects = [
            SideEffect.objects.create(shop=shop, key=f"ticket:{ticket}:rcrm_note",
                                      state=SideEffectState.DONE, result="note 9"),
            SideEffect.objects.create(shop=shop, key=f"ticket:{ticket}:rcrm_task"),
            SideEffect.objects.create(shop=shop, key=f"ticket:{ticket}1:rcrm_note"),  # not ours
        ]
        WidgetRequest.objects.create(shop=shop, request_id=f"wr-{key}", duration_ms=120,
                                     outcome="found")
        rows[key] = {"shop": shop, "event": event, "calls": calls, "other": other,
                     "effects": effects}
    return rows


def _csv(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.django_db
def test_changelists_filter_and_show_only_own_shop(client, two_tenants, logs, make_shop):
    second = make_shop(two_tenants["a"]["agency"], name="Shop A2")
    ApiCall.objects.create(shop=second, provider="retailcrm", method="GET", path="/a2-only")
    client.force_login(two_tenants["a"]["viewer"])
    url = reverse("admin:integration_apicall_changelist")
    page = client.get(url).content.decode().replace("<wbr>", "")  # the path may wrap at "/"
    assert "/api/v5/reference/sites-a" in page and "sites-b" not in page
    # The shop filter offers only the user's shops, and works.
    assert f"shop__id__exact={second.pk}" in page
    assert f"shop__id__exact={logs['b']['shop'].pk}" not in page and "Shop B" not in page
    only_a2 = client.get(url, {"shop__id__exact": second.pk})
    assert only_a2.context["cl"].result_count == 1
    filtered = client.get(url, {"provider__exact": "helpdeskeddy"}).content.decode().replace(
        "<wbr>", "")
    assert "/api/v2/tickets/501/" in filtered and "sites-a" not in filtered
    by_status = client.get(url, {"outcome__exact": "server_error", "within": "24h"})
    assert by_status.context["cl"].result_count == 1
    # Asking for B's shop through the URL yields nothing of B.
    sneaky = client.get(url, {"shop__id__exact": logs["b"]["shop"].pk})
    assert sneaky.context["cl"].result_count == 0
    # The API-call row links to its dead event's replay.
    event_url = reverse("admin:integration_inboundevent_change", args=[logs["a"]["event"].pk])
    assert f'href="{event_url}#replay"' in page

    events = client.get(reverse("admin:integration_inboundevent_changelist"),
                        {"state__exact": "dead"})
    assert events.context["cl"].result_count == 1
    widget = client.get(reverse("admin:integration_widgetrequest_changelist")).content.decode()
    assert "wr-a" in widget and "wr-b" not in widget


@pytest.mark.django_db
def test_event_detail_lists_its_calls_and_ticket_side_effects_without_keys(
    client, two_tenants, logs
):
    client.force_login(two_tenants["a"]["viewer"])
    a = logs["a"]
    response = client.get(reverse("admin:integration_inboundevent_change", args=[a["event"].pk]))
    html = response.content.decode()
    assert response.status_code == 200
    for call in a["calls"]:
        assert reverse("admin:integration_apicall_change", args=[call.pk]) in html
    assert reverse("admin:integration_apicall_change", args=[a["other"].pk]) not in html
    assert "ticket:501:rcrm_note" in html and "ticket:501:rcrm_task" in html
    assert "ticket:5011:rcrm_note" not in html  # another ticket's key
    assert "Where is my order a" in html  # payload excerpt
    for secret in (RC_KEY_A, HDE_KEY_A, RC_KEY_B, "payload-secret-xyz"):
        assert secret not in html
    # A viewer sees why there is no button.
    assert 'id="replay-form"' not in html
    # The API call's own page: redacted path and error.
    call_html = client.get(
        reverse("admin:integration_apicall_change", args=[a["calls"][1].pk])).content.decode()
    assert "[redacted]" in call_html and RC_KEY_A not in call_html


@pytest.mark.django_db
def test_other_tenants_event_detail_replay_and_call_answer_404(client, two_tenants, logs):
    client.force_login(two_tenants["a"]["owner"])
    b = logs["b"]
    detail = client.get(reverse("admin:integration_inboundevent_change", args=[b["event"].pk]))
    assert detail.status_code == 302  # the admin's "does not exist" redirect, like a missing id
    call = client.get(reverse("admin:integration_apicall_change", args=[b["calls"][0].pk]))
    assert call.status_code == 302
    replay = client.post(reverse("admin:integration_inboundevent_replay", args=[b["event"].pk]))
    assert not_found(replay)
    b["event"].refresh_from_db()
    assert b["event"].state == EventState.DEAD


@pytest.mark.django_db
def test_owner_replays_a_dead_event_and_viewer_may_not(
    client, two_tenants, logs, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setitem(inbox.HANDLERS, ("hde", "new_ticket"), "tests.inbox_handlers.succeed")
    inbox_handlers.CALLS.clear()
    event = logs["a"]["event"]
    url = reverse("admin:integration_inboundevent_replay", args=[event.pk])

    client.force_login(two_tenants["a"]["viewer"])
    assert client.post(url).status_code == 403
    client.force_login(two_tenants["a"]["owner"])
    assert client.get(url).status_code == 405  # a state change is a POST
    detail = client.get(reverse("admin:integration_inboundevent_change", args=[event.pk]))
    assert 'id="replay-form"' in detail.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, follow=True)
    assert "queued again" in response.content.decode()
    event.refresh_from_db()
    assert event.state == EventState.DONE and inbox_handlers.CALLS == [event.pk]
    # Done now: a second replay changes nothing.
    response = client.post(url, follow=True)
    assert "Nothing to replay: the event already succeeded." in response.content.decode()


@pytest.mark.django_db
def test_bulk_replay_skips_agencies_where_the_user_only_views(
    client, two_tenants, logs, make_member
):
    """Owner in A and viewer in B: selecting both dead events replays A's."""
    user = two_tenants["a"]["owner"]
    from integration.models import Membership

    Membership.objects.create(user=user, agency=two_tenants["b"]["agency"], role=Role.VIEWER)
    client.force_login(user)
    ids = [logs["a"]["event"].pk, logs["b"]["event"].pk]
    response = client.post(reverse("admin:integration_inboundevent_changelist"),
                           {"action": "replay", "_selected_action": ids}, follow=True)
    assert ("1 event queued again. Not replayed: 1 belongs to an agency where you may only "
            "read.") in response.content.decode()
    logs["a"]["event"].refresh_from_db()
    logs["b"]["event"].refresh_from_db()
    assert logs["a"]["event"].state != EventState.DEAD
    assert logs["b"]["event"].state == EventState.DEAD


@pytest.mark.django_db
def test_csv_export_streams_the_filtered_scoped_rows_without_secrets(client, two_tenants, logs):
    client.force_login(two_tenants["a"]["viewer"])
    url = reverse("admin:integration_apicall_export")
    rows = _csv(client.get(url))
    assert {r["shop"] for r in rows} == {"Shop A"}
    assert len(rows) == 3
    raw = "".join(str(r) for r in rows)
    assert RC_KEY_A not in raw and RC_KEY_B not in raw and "[redacted]" in raw
    only_hde = _csv(client.get(url, {"provider__exact": "helpdeskeddy"}))
    assert [r["path"] for r in only_hde] == ["/api/v2/tickets/501/"]
    # Filtering on B's shop id never yields B's rows (with one own shop the
    # admin hides the shop filter and ignores the parameter).
    sneaky = _csv(client.get(url, {"shop__id__exact": logs["b"]["shop"].pk}))
    assert {r["shop"] for r in sneaky} <= {"Shop A"}

    events = _csv(client.get(reverse("admin:integration_inboundevent_export")))
    assert [e["source_key"] for e in events] == ["new_ticket:501"]
    assert RC_KEY_A not in events[0]["last_error"]
    assert "payload" not in events[0]
    widgets = _csv(client.get(reverse("admin:integration_widgetrequest_export")))
    assert [w["request_id"] for w in widgets] == ["wr-a"]

    client.force_login(two_tenants["b"]["owner"])
    assert {r["shop"] for r in _csv(client.get(url))} == {"Shop B"}


@pytest.mark.django_db
def test_csv_cells_that_look_like_formulas_are_defused(client, two_tenants):
    shop = two_tenants["a"]["shop"]
    ApiCall.objects.create(shop=shop, provider="retailcrm", method="GET", path="/x",
                           error="=HYPERLINK(\"http://evil\")")
    client.force_login(two_tenants["a"]["owner"])
    rows = _csv(client.get(reverse("admin:integration_apicall_export")))
    assert rows[0]["error"].startswith("'=")


@pytest.mark.django_db
def test_export_needs_login(client, logs):
    response = client.get(reverse("admin:integration_apicall_export"))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.django_db
def test_changelist_queries_do_not_grow_with_rows(client, two_tenants, logs):
    """Redacting each row's path looks the shop's keys up once per page."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(two_tenants["a"]["viewer"])
    url = reverse("admin:integration_apicall_changelist")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(30):
        ApiCall.objects.create(shop=logs["a"]["shop"], provider="retailcrm", method="GET",
                               path=f"/more/{i}", event=logs["a"]["event"])
    with CaptureQueriesContext(connection) as many:
        html = client.get(url).content.decode().replace("<wbr>", "")
    assert "/more/29" in html
    assert len(many.captured_queries) == len(few.captured_queries)


@pytest.mark.django_db
def test_the_sync_log_speaks_words_in_the_readers_language(client, two_tenants, logs):
    """No handler codes, state codes or delivery keys in the lists and titles:
    what happened, about which ticket (HDE's number), how the call ended."""
    client.force_login(two_tenants["a"]["viewer"])
    a = logs["a"]
    TicketRecord.objects.filter(shop=a["shop"], ticket_id=501).update(unique_id="AAA-10501")
    events = client.get(reverse("admin:integration_inboundevent_changelist"),
                        HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    table = events.split('id="result_list"')[1].split("</table>")[0]
    # "Новая заявка AAA-10501", the number a link to the ticket in HDE.
    link = ('<a href="https://a.helpdeskeddy.example/ru/ticket/list/filter/id/1/ticket/501/" '
            'class="hde-ticket"')
    assert "Новая заявка " + link in table and ">AAA-10501</a>" in table
    assert "Остановлено после 0 попыток" in table  # the seeded event never ran
    assert "new_ticket" not in events.split('id="result_list"')[1].split("</table>")[0]
    detail = client.get(reverse("admin:integration_inboundevent_change", args=[a["event"].pk]),
                        HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    title = detail.split("<title>")[1].split("</title>")[0]
    assert "Новая заявка" in title and "new_ticket" not in title and "dead" not in title
    # What the event did, in words; the ticket by HDE's number.
    assert "Заметка о клиенте в RetailCRM" in detail and "Заявка HDE AAA-10501" in detail
    effects = detail.split('id="event-side-effects"')[1].split("</table>")[0]
    assert ">ticket:501:" not in effects  # the key only as a tooltip, for support
    calls = client.get(reverse("admin:integration_apicall_changelist"),
                       HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Ошибка на стороне сервиса" in calls and ">server_error<" not in calls


def test_widget_requests_read_in_words(client, two_tenants, logs):
    client.force_login(two_tenants["a"]["viewer"])
    page = client.get(reverse("admin:integration_widgetrequest_changelist"),
                      HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    table = page.split('id="result_list"')[1].split("</table>")[0]
    assert "Клиент найден" in table and "Карточка" in table
    assert ">found<" not in page and ">page<" not in page


def test_a_viewer_reads_and_searches_no_contact_in_delivery_keys(client, two_tenants, logs):
    """A trigger's parameters are whatever its admin typed: an e-mail in a
    delivery key is masked for a viewer, on the page and in the CSV, and a
    viewer cannot search by it (the owner sees it)."""
    shop = two_tenants["a"]["shop"]
    event = InboundEvent.objects.create(
        shop=shop, source=EventSource.RETAILCRM_TRIGGER, event_type="order_changed",
        source_key="order:1:maria@example.com", state=EventState.DONE,
        payload={"order_id": 1})
    changelist = reverse("admin:integration_inboundevent_changelist")
    client.force_login(two_tenants["a"]["viewer"])
    detail = client.get(reverse("admin:integration_inboundevent_change", args=[event.pk]))
    text = detail.content.decode()
    assert "maria@example.com" not in text and "order:1:[e-mail]" in text
    def found(query):
        page = client.get(changelist, {"q": query})
        return set(page.context["cl"].queryset.values_list("pk", flat=True))

    # The answer does not depend on what the viewer searches for: no probing.
    assert found("maria@example.com") == found("nobody@nowhere.example") == found("")
    export = b"".join(client.get(changelist + "export/").streaming_content).decode()
    assert "maria@example.com" not in export and "order:1:[e-mail]" in export
    client.force_login(two_tenants["a"]["owner"])
    assert "maria@example.com" in client.get(
        reverse("admin:integration_inboundevent_change", args=[event.pk])).content.decode()
