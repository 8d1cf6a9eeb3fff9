"""Normalisation of HelpDeskEddy's irregular JSON, without any I/O.

Why: the emulator answers one way, but docs/vendors/helpdeskeddy.md §2/§5.3 records that real
HDE systems vary (keyed objects vs arrays, totals as strings, localised
names with missing keys, three date formats, tags as strings or objects).
These cases pin down what the client accepts beyond what the emulator sends.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from integration.vendors.helpdeskeddy import is_ban
from integration.vendors.helpdeskeddy_parsing import (
    Ref,
    localized,
    parse_datetime,
    parse_pagination,
    parse_post,
    parse_ref,
    parse_tags,
    parse_ticket,
    parse_user,
    to_int,
    to_number,
    values_of,
)

MSK = ZoneInfo("Europe/Moscow")


@pytest.mark.parametrize("text, expected", [
    ("2016-08-15 17:05:19", datetime(2016, 8, 15, 17, 5, 19, tzinfo=MSK)),
    ("17:45:00 26.01.2017", datetime(2017, 1, 26, 17, 45, tzinfo=MSK)),
    ("17.01.2017 16:00", datetime(2017, 1, 17, 16, 0, tzinfo=MSK)),
    ("17.01.2017", datetime(2017, 1, 17, tzinfo=MSK)),
    ("null", None), ("", None), (None, None), ("0000-00-00 00:00:00", None),
    ("yesterday", None),
])
def test_the_three_date_formats(text, expected):
    assert parse_datetime(text, MSK) == expected


@pytest.mark.parametrize("value, expected", [
    ("2", 2), (" 15 ", 15), (3, 3), ("", None), (None, None), ("null", None), ("abc", None),
    ("4.0", 4), (True, 1),
])
def test_numbers_given_as_strings(value, expected):
    assert to_int(value) == expected


def test_money_like_numbers():
    assert to_number("12500.50") == 12500.5
    assert to_number("1 200,50") == 1200.5
    assert to_number("4345") == 4345 and isinstance(to_number("4345"), int)
    assert to_number("") is None and to_number("n/a") is None


def test_localised_names_fall_back_sensibly():
    assert localized({"ru": "Срочно", "en": "Very urgent"}, "en") == "Very urgent"
    assert localized({"ru": "Срочно", "ua": "Терміново"}, "en") == "Срочно"
    assert localized({"se": "Brådskande"}, "en") == "Brådskande"
    assert localized("Plain", "en") == "Plain"
    assert localized({"1": {"ru": "Уровень 1"}, "2": {"ru": "Уровень 2"}}) == "Уровень 1"
    assert localized(None) == ""


def test_keyed_objects_and_arrays_are_both_lists():
    assert values_of({"10": {"id": 10}, "9": {"id": 9}}) == [{"id": 10}, {"id": 9}]
    assert values_of([{"id": 1}]) == [{"id": 1}]
    assert values_of(None) == [] and values_of("") == []


def test_pagination_total_as_number_or_string():
    assert parse_pagination({"pagination": {"total": "85", "total_pages": "3",
                                            "current_page": 2}}, [], 2).total == 85
    page = parse_pagination({"data": []}, [1, 2], 1)
    assert (page.total, page.total_pages, page.page) == (2, 1, 1)


def test_a_ticket_from_the_vendor_documentation_sample():
    raw = {
        "id": "9", "unique_id": "IQV-84397", "date_created": "2016-08-15 17:05:19",
        "date_updated": "2017-01-18 11:44:13", "title": "Test ticket", "status_id": "v-processe",
        "priority_id": "3", "type_id": 0, "department_id": 2, "owner_id": 0, "user_id": "41",
        "user_name": "John", "user_lastname": "Doe", "user_email": "john.doe@example.com",
        "sla_date": "17.01.2017 16:00", "freeze_date": "null",
        "custom_fields": {"3": {"id": 3, "field_type": "textarea", "field_value": "4345"},
                          "4": {"id": "4", "field_type": "checkbox", "field_value": "1"},
                          "9": {"id": 9, "field_type": "select",
                                "field_value": {"id": "15", "name": {"ru": "Да"}}},
                          "10": {"id": 10, "field_type": "select", "field_value": 0}},
        "tags": [{"id": 1, "name": "vip"}, "late", ""],
    }
    ticket = parse_ticket(raw, MSK, "en")
    assert (ticket.id, ticket.priority_id, ticket.user_id, ticket.owner_id) == (9, 3, 41, None)
    assert ticket.status_id == "v-processe" and not ticket.is_closed
    assert ticket.user_name == "John Doe"
    assert ticket.sla_date == datetime(2017, 1, 17, 16, 0, tzinfo=MSK)
    assert ticket.custom_fields == {3: "4345", 4: 1, 9: Ref(15, "Да"), 10: None}
    assert ticket.tags == ["vip", "late"]


def test_users_posts_and_refs():
    user = parse_user({"id": "414", "email": "u@example.com", "group": {"type": "staff"},
                       "organization": {"id": 1, "name": "ООО Ромашка"}}, MSK)
    assert (user.id, user.is_staff, user.organization) == (414, True, "ООО Ромашка")
    assert parse_user({"id": 1, "email": "79990001122@phone.invalid"}, MSK).real_email == ""
    post = parse_post({"ticket_id": 9, "id": 139, "user_id": "1", "text": "<p>x</p>",
                       "date_created": "17:45:00 26.01.2017", "visible": "staff"}, MSK,
                      is_comment=False)
    assert post.is_comment and post.user_id == 1
    assert parse_ref({"id": "open", "name": {"en": "Open"}}, "en") == Ref("open", "Open")
    assert parse_ref({"id": "2", "name": "Standard"}, "en") == Ref(2, "Standard")


def test_the_ban_answer_is_recognised_and_a_wrong_key_is_not_a_ban():
    ban = {"errors": [{"code": "e-401", "title": "Ban",
                       "details": "Ban for 20 min. API limit reached (300 request per minute)."}]}
    assert is_ban(401, ban)
    assert not is_ban(401, {"errors": [{"code": "e-401", "title": "Unauthorized"}]})
    assert not is_ban(403, ban)
    assert not is_ban(401, None)
    assert parse_tags(None) == []
