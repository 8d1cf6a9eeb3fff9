"""Every rule condition, combinators, actions and "stop here"."""

from datetime import date

import pytest

from integration.customers.types import (
    ContextStatus,
    CustomerContext,
    CustomerProfile,
    OrderSummary,
    TicketInfo,
)
from integration.models import ConditionField as F
from integration.models import Operator as Op
from integration.models import PriorityRule, RuleCondition
from integration.tickets.priority import default_rules_create, priority_decide

TODAY = date(2026, 11, 25)


def _order(number, status, group, *, overdue=False, total=1000.0):
    bucket = {"complete": "completed", "cancel": "cancelled"}.get(group, "active")
    return OrderSummary(id=hash(number) % 10000, number=number, status_code=status,
                        status_name=status, status_group=group, bucket=bucket,
                        created_at="2026-11-01T10:00:00+03:00", total=total, overdue=overdue)


def _context(**profile):
    orders = profile.pop("orders", [])
    pinned = profile.pop("pinned", "")
    customer = CustomerProfile(id=1, name="Анна", **profile)
    return CustomerContext(status=ContextStatus.FOUND, customer=customer, orders=orders,
                           pinned_order_number=pinned)


UNKNOWN = CustomerContext(status=ContextStatus.UNKNOWN)
TICKET = TicketInfo(id=5, subject="Где мой заказ 1001A? Срочно", department_id=2, type_id=1,
                    channel="email")


def _rule(shop, *conditions, match="all", priority=1, tags="", stop=False, position=10,
          field_id=None, field_value=""):
    rule = PriorityRule.objects.create(shop=shop, name=f"rule-{position}", match=match,
                                       set_priority_id=priority, add_tags=tags, stop=stop,
                                       position=position, set_field_id=field_id,
                                       set_field_value=field_value)
    for field, op, value in conditions:
        RuleCondition.objects.create(rule=rule, field=field, operator=op, value=value)
    return rule


CASES = [
    # (condition, context, ticket, expected to hold)
    ((F.CUSTOMER_UNKNOWN, Op.IS_TRUE, ""), UNKNOWN, TICKET, True),
    ((F.CUSTOMER_UNKNOWN, Op.IS_TRUE, ""), _context(), TICKET, False),
    ((F.VIP, Op.IS_TRUE, ""), _context(vip=True), TICKET, True),
    ((F.VIP, Op.IS_TRUE, ""), _context(vip=False), TICKET, False),
    ((F.BAD, Op.IS_FALSE, ""), _context(bad=False), TICKET, True),
    ((F.SEGMENT, Op.EQ, "vip"), _context(segments=["loyal", "vip"]), TICKET, True),
    ((F.SEGMENT, Op.NOT_CONTAINS, "wholesale"), _context(segments=["vip"]), TICKET, True),
    ((F.TAG, Op.CONTAINS, "gold, silver"), _context(tags=["silver"]), TICKET, True),
    ((F.ORDERS_COUNT, Op.GTE, "5"), _context(orders_count=5), TICKET, True),
    ((F.ORDERS_COUNT, Op.GTE, "5"), _context(orders_count=4), TICKET, False),
    ((F.TOTAL_SUM, Op.GTE, "50 000"), _context(total_sum=50000.0), TICKET, True),
    ((F.AVERAGE_SUM, Op.LTE, "1000"), _context(average_sum=999.5), TICKET, True),
    ((F.DAYS_SINCE_LAST_ORDER, Op.GTE, "180"),
     _context(last_order_at="2026-01-01T10:00:00+03:00"), TICKET, True),
    ((F.DAYS_SINCE_LAST_ORDER, Op.GTE, "180"),
     _context(last_order_at="2026-11-20T10:00:00+03:00"), TICKET, False),
    ((F.CUSTOMER_FIELD, Op.EQ, "b2b=true"), _context(custom_fields={"b2b": "true"}), TICKET,
     True),
    ((F.ORDER_IN_GROUP, Op.EQ, "delivery"),
     _context(orders=[_order("1", "delivering", "delivery")]), TICKET, True),
    ((F.ORDER_IN_GROUP, Op.EQ, "delivery"),
     _context(orders=[_order("1", "complete", "complete")]), TICKET, False),
    ((F.ORDER_IN_STATUS, Op.EQ, "delivery-problem"),
     _context(orders=[_order("1", "delivery-problem", "delivery")]), TICKET, True),
    ((F.OVERDUE_ORDER, Op.IS_TRUE, ""),
     _context(orders=[_order("1", "send-to-delivery", "delivery", overdue=True)]), TICKET, True),
    ((F.OVERDUE_ORDER, Op.IS_TRUE, ""),
     _context(orders=[_order("1", "complete", "complete", overdue=True)]), TICKET, False),
    ((F.TICKET_ORDER_STATUS, Op.EQ, "delivering"),
     _context(orders=[_order("1001A", "delivering", "delivery")], pinned="1001A"), TICKET, True),
    ((F.TICKET_ORDER_TOTAL, Op.GTE, "10000"),
     _context(orders=[_order("1001A", "new", "new", total=12000)], pinned="1001A"), TICKET, True),
    ((F.TICKET_ORDER_TOTAL, Op.GTE, "10000"), _context(), TICKET, False),
    ((F.DEPARTMENT, Op.EQ, "2"), _context(), TICKET, True),
    ((F.TICKET_TYPE, Op.NEQ, "1"), _context(), TICKET, False),
    ((F.SUBJECT, Op.CONTAINS, "срочно, urgent"), _context(), TICKET, True),
    ((F.SUBJECT, Op.CONTAINS, "возврат"), _context(), TICKET, False),
    ((F.CHANNEL, Op.EQ, "email"), _context(), TICKET, True),
]


@pytest.mark.django_db
@pytest.mark.parametrize("condition,context,ticket,holds", CASES)
def test_each_condition(two_tenants, condition, context, ticket, holds):
    shop = two_tenants["a"]["shop"]
    _rule(shop, condition, priority=7)
    decision = priority_decide(shop=shop, context=context, ticket=ticket, today=TODAY)
    assert (decision.priority_id == 7) is holds
    assert decision.trace[0].conditions[0].held is holds


@pytest.mark.django_db
def test_any_versus_all(two_tenants):
    shop = two_tenants["a"]["shop"]
    conditions = [(F.VIP, Op.IS_TRUE, ""), (F.ORDERS_COUNT, Op.GTE, "5")]
    _rule(shop, *conditions, match="any", priority=1, position=1)
    _rule(shop, *conditions, match="all", priority=2, position=2, tags="both")
    only_vip = priority_decide(shop=shop, context=_context(vip=True, orders_count=1),
                               ticket=TICKET, today=TODAY)
    assert (only_vip.priority_id, only_vip.tags) == (1, [])
    both = priority_decide(shop=shop, context=_context(vip=True, orders_count=9),
                           ticket=TICKET, today=TODAY)
    assert (both.priority_id, both.priority_rule, both.tags) == (2, "rule-2", ["both"])


@pytest.mark.django_db
def test_tags_accumulate_fields_set_and_stop_ends_evaluation(two_tenants):
    shop = two_tenants["a"]["shop"]
    _rule(shop, (F.VIP, Op.IS_TRUE, ""), priority=1, tags="vip", position=1,
          field_id=9, field_value="VIP")
    _rule(shop, (F.ORDERS_COUNT, Op.GTE, "1"), priority=None, tags="buyer, vip", position=2,
          stop=True)
    _rule(shop, priority=3, tags="never", position=3)
    decision = priority_decide(shop=shop, context=_context(vip=True, orders_count=3),
                               ticket=TICKET, today=TODAY)
    assert decision.priority_id == 1
    assert decision.tags == ["vip", "buyer"]
    assert decision.fields == {9: "VIP"}
    assert decision.matched_rules == ["rule-1", "rule-2"]
    assert len(decision.trace) == 2


@pytest.mark.django_db
def test_rules_of_another_shop_never_apply(two_tenants):
    _rule(two_tenants["b"]["shop"], (F.VIP, Op.IS_TRUE, ""), priority=9)
    decision = priority_decide(shop=two_tenants["a"]["shop"], context=_context(vip=True),
                               ticket=TICKET, today=TODAY)
    assert decision.priority_id is None and decision.trace == []


@pytest.mark.django_db
def test_default_rules(two_tenants):
    shop = two_tenants["a"]["shop"]
    default_rules_create(shop=shop, normal_priority_id=2, high_priority_id=1)

    def decide(context):
        return priority_decide(shop=shop, context=context, ticket=TICKET, today=TODAY)

    assert decide(_context(vip=True)).priority_id == 1
    assert decide(_context(orders_count=5)).priority_id == 1
    assert decide(_context(total_sum=60000)).priority_id == 1
    in_delivery = decide(_context(orders=[_order("7", "delivering", "delivery")]))
    assert (in_delivery.priority_id, in_delivery.tags) == (1, ["order-in-delivery"])
    assert decide(_context(orders_count=1)).priority_id is None
    assert decide(UNKNOWN).priority_id == 2


def test_default_rules_are_named_in_the_shops_language_and_old_ones_are_renamed(
        make_agency, make_shop):
    """"Приоритет установлен правилом: Order in delivery" in a Russian ticket
    (issue 16): new shops get names in their language; migration 0021 renames
    the untouched English defaults of existing Russian shops, nothing else."""
    import importlib

    from django.apps import apps

    from integration.models import ReplyTemplate

    agency = make_agency("Names agency")
    ru, en = make_shop(agency, name="RU", language="ru"), make_shop(agency, name="EN",
                                                                   language="en")
    default_rules_create(shop=ru, normal_priority_id=2, high_priority_id=1)
    default_rules_create(shop=en, normal_priority_id=2, high_priority_id=1)
    assert "Заказ в доставке" in PriorityRule.objects.filter(shop=ru).values_list("name",
                                                                                   flat=True)
    assert "Order in delivery" in PriorityRule.objects.filter(shop=en).values_list("name",
                                                                                    flat=True)
    old = make_shop(agency, name="Old RU", language="ru")
    PriorityRule.objects.create(shop=old, name="Order in delivery")
    PriorityRule.objects.create(shop=old, name="Order in delivery, my way")  # edited: kept
    greeting = ReplyTemplate.objects.create(
        shop=old, name="Разбираемся", language="ru",
        body="Здравствуйте, {{ customer.name }}!\n\nСпасибо.")
    migration = importlib.import_module(
        "integration.migrations.0021_default_names_in_shop_language")
    migration.forwards(apps, None)
    assert sorted(PriorityRule.objects.filter(shop=old).values_list("name", flat=True)) == [
        "Order in delivery, my way", "Заказ в доставке"]
    assert "Order in delivery" in PriorityRule.objects.filter(shop=en).values_list("name",
                                                                                    flat=True)
    greeting.refresh_from_db()
    assert greeting.body == "Здравствуйте, {{ customer.first_name }}!\n\nСпасибо."
