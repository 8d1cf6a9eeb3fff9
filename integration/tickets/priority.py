"""Priority rules: from commerce facts to an HDE priority, tags and fields.

Rules are evaluated in position order; every matching rule contributes its
actions (a later priority overrides an earlier one, tags accumulate) until a
matching rule says "stop here". The decision records which rules matched and
which conditions held, so "dry run" and "try with e-mail" can explain it.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from integration.customers.types import ContextStatus, CustomerContext, TicketInfo
from integration.models import ConditionField, MatchMode, Operator, PriorityRule, RuleCondition

ACTIVE_GROUPS = {"new", "approval", "assembling", "delivery"}

F, Op = ConditionField, Operator
# What kind of fact each condition field looks at, and so which operators
# make sense for it: no "at least" for a yes/no fact, no "is true" for a sum.
# The rules form offers only these and refuses the rest.
YES_NO_FIELDS = frozenset({F.CUSTOMER_UNKNOWN, F.VIP, F.BAD, F.OVERDUE_ORDER})
NUMBER_FIELDS = frozenset({F.ORDERS_COUNT, F.DAYS_SINCE_LAST_ORDER})
MONEY_FIELDS = frozenset({F.TOTAL_SUM, F.AVERAGE_SUM, F.TICKET_ORDER_TOTAL})
# Values picked from a vendor's list: field → the list's name.
PICKED_FIELDS = {
    F.ORDER_IN_GROUP: "status_groups", F.ORDER_IN_STATUS: "statuses",
    F.TICKET_ORDER_STATUS: "statuses", F.DEPARTMENT: "departments", F.TICKET_TYPE: "types",
}
YES_NO_OPERATORS = (Op.IS_TRUE, Op.IS_FALSE)
NUMBER_OPERATORS = (Op.GTE, Op.LTE, Op.EQ, Op.NEQ)
PICKED_OPERATORS = (Op.EQ, Op.NEQ)
WORDS_OPERATORS = (Op.CONTAINS, Op.NOT_CONTAINS, Op.EQ, Op.NEQ)
FIELD_OPERATORS = {
    **{name: YES_NO_OPERATORS for name in YES_NO_FIELDS},
    **{name: NUMBER_OPERATORS for name in NUMBER_FIELDS | MONEY_FIELDS},
    **{name: PICKED_OPERATORS for name in PICKED_FIELDS},
    F.SUBJECT: (Op.CONTAINS, Op.NOT_CONTAINS),
    F.SEGMENT: WORDS_OPERATORS, F.TAG: WORDS_OPERATORS, F.CUSTOMER_FIELD: WORDS_OPERATORS,
    F.CHANNEL: WORDS_OPERATORS,
}


def operators_for(field_name: str) -> tuple:
    """The operators that make sense for a condition field."""
    return FIELD_OPERATORS.get(field_name, tuple(Operator))


@dataclass
class ConditionResult:
    condition: str
    held: bool
    actual: object
    # The condition itself, so a screen can word it with names (statuses,
    # departments) and the actual value in the shop's currency.
    field: str = ""
    operator: str = ""
    value: str = ""


@dataclass
class RuleResult:
    rule: str
    matched: bool
    conditions: list[ConditionResult]


@dataclass
class Decision:
    priority_id: int | None = None
    priority_rule: str = ""
    tags: list[str] = field(default_factory=list)
    fields: dict[int, str] = field(default_factory=dict)
    trace: list[RuleResult] = field(default_factory=list)

    @property
    def matched_rules(self) -> list[str]:
        return [result.rule for result in self.trace if result.matched]


def _days_since(iso: str, today: date) -> int | None:
    if not iso:
        return None
    try:
        return (today - datetime.fromisoformat(iso).date()).days
    except ValueError:
        return None


def fact_value(field_name: str, context: CustomerContext, ticket: TicketInfo, today: date):
    """The actual value a condition looks at (None when unknown)."""
    customer = context.customer
    active = [o for o in context.orders if o.status_group in ACTIVE_GROUPS]
    pinned = next((o for o in context.orders if o.number == context.pinned_order_number), None)
    facts = {
        ConditionField.CUSTOMER_UNKNOWN: context.status == ContextStatus.UNKNOWN,
        ConditionField.VIP: bool(customer and customer.vip),
        ConditionField.BAD: bool(customer and customer.bad),
        ConditionField.SEGMENT: customer.segments if customer else [],
        ConditionField.TAG: customer.tags if customer else [],
        ConditionField.ORDERS_COUNT: customer.orders_count if customer else None,
        ConditionField.TOTAL_SUM: customer.total_sum if customer else None,
        ConditionField.AVERAGE_SUM: customer.average_sum if customer else None,
        ConditionField.DAYS_SINCE_LAST_ORDER: (
            _days_since(customer.last_order_at, today) if customer else None),
        ConditionField.CUSTOMER_FIELD: (
            [f"{k}={v}" for k, v in customer.custom_fields.items()] if customer else []),
        ConditionField.ORDER_IN_GROUP: sorted({o.status_group for o in context.orders}),
        ConditionField.ORDER_IN_STATUS: sorted({o.status_code for o in context.orders}),
        ConditionField.OVERDUE_ORDER: any(o.overdue for o in active),
        ConditionField.TICKET_ORDER_STATUS: pinned.status_code if pinned else None,
        ConditionField.TICKET_ORDER_TOTAL: pinned.total if pinned else None,
        ConditionField.DEPARTMENT: ticket.department_id,
        ConditionField.TICKET_TYPE: ticket.type_id,
        ConditionField.SUBJECT: ticket.subject,
        ConditionField.CHANNEL: ticket.channel,
    }
    return facts.get(field_name)


def _number(value):
    try:
        return float(str(value).replace(",", ".").replace(" ", ""))
    except (TypeError, ValueError):
        return None


def _words(value: str) -> list[str]:
    return [word.strip().lower() for word in value.split(",") if word.strip()]


def condition_holds(operator: str, expected: str, actual) -> bool:
    if operator == Operator.IS_TRUE:
        return bool(actual)
    if operator == Operator.IS_FALSE:
        return not actual
    if actual is None:
        return False
    if operator in (Operator.GTE, Operator.LTE):
        left, right = _number(actual), _number(expected)
        if left is None or right is None:
            return False
        return left >= right if operator == Operator.GTE else left <= right
    if operator in (Operator.CONTAINS, Operator.NOT_CONTAINS):
        haystack = (
            " ".join(str(v).lower() for v in actual) if isinstance(actual, list)
            else str(actual).lower()
        )
        if isinstance(actual, list):
            members = {str(v).lower() for v in actual}
            found = any(word in members for word in _words(expected))
        else:
            found = any(word in haystack for word in _words(expected))
        return found if operator == Operator.CONTAINS else not found
    same = (
        str(expected).strip().lower() in {str(v).lower() for v in actual}
        if isinstance(actual, list)
        else str(actual).strip().lower() == str(expected).strip().lower()
    )
    return same if operator == Operator.EQ else not same


def _evaluate_rule(rule: PriorityRule, conditions: list[RuleCondition], context, ticket, today):
    results = []
    for condition in conditions:
        actual = fact_value(condition.field, context, ticket, today)
        results.append(ConditionResult(
            str(condition), condition_holds(condition.operator, condition.value, actual), actual,
            field=condition.field, operator=condition.operator, value=condition.value))
    if not results:
        matched = True
    elif rule.match == MatchMode.ANY:
        matched = any(r.held for r in results)
    else:
        matched = all(r.held for r in results)
    return RuleResult(rule.name, matched, results)


def priority_decide(*, shop, context: CustomerContext, ticket: TicketInfo,
                    today: date | None = None) -> Decision:
    today = today or date.today()
    decision = Decision()
    rules = PriorityRule.objects.for_shop(shop).filter(active=True).prefetch_related("conditions")
    for rule in rules:
        result = _evaluate_rule(rule, list(rule.conditions.all()), context, ticket, today)
        decision.trace.append(result)
        if not result.matched:
            continue
        if rule.set_priority_id:
            decision.priority_id, decision.priority_rule = rule.set_priority_id, rule.name
        for tag in _words(rule.add_tags):
            if tag not in decision.tags:
                decision.tags.append(tag)
        if rule.set_field_id:
            decision.fields[rule.set_field_id] = rule.set_field_value
        if rule.stop:
            break
    return decision


# The rules every new shop starts with, named in the shop's language (the
# name is shown in HDE's internal comment: "Priority set by rule: ...").
# English and Russian are written out here rather than looked up through
# gettext: they are data a shop edits, and the data migration that renames
# untouched rules of existing shops (0021) must read the same words.
DEFAULT_RULE_NAMES = {
    "vip": {"en": "VIP customer", "ru": "VIP-клиент"},
    "loyal": {"en": "Loyal customer (≥ 5 orders or ≥ 50,000 spent)",
              "ru": "Постоянный клиент (≥ 5 заказов или покупки от 50 000)"},
    "delivery": {"en": "Order in delivery", "ru": "Заказ в доставке"},
    "overdue": {"en": "Overdue order", "ru": "Просроченный заказ"},
    "unknown": {"en": "Unknown customer", "ru": "Новый клиент"},
}


def default_rule_name(key: str, language: str) -> str:
    names = DEFAULT_RULE_NAMES[key]
    return names.get(language, names["en"])


def default_rules_create(*, shop, normal_priority_id: int, high_priority_id: int) -> None:
    """A new shop starts with the rules most shops want (editable)."""
    specs = [
        ("vip", MatchMode.ALL, high_priority_id, "vip",
         [(ConditionField.VIP, Operator.IS_TRUE, "")]),
        ("loyal", MatchMode.ANY, high_priority_id, "",
         [(ConditionField.ORDERS_COUNT, Operator.GTE, "5"),
          (ConditionField.TOTAL_SUM, Operator.GTE, "50000")]),
        ("delivery", MatchMode.ALL, high_priority_id, "order-in-delivery",
         [(ConditionField.ORDER_IN_GROUP, Operator.EQ, "delivery")]),
        ("overdue", MatchMode.ALL, high_priority_id, "overdue-order",
         [(ConditionField.OVERDUE_ORDER, Operator.IS_TRUE, "")]),
        ("unknown", MatchMode.ALL, normal_priority_id, "new-customer",
         [(ConditionField.CUSTOMER_UNKNOWN, Operator.IS_TRUE, "")]),
    ]
    for position, (key, match, priority, tags, conditions) in enumerate(specs, start=1):
        rule = PriorityRule.objects.create(
            shop=shop, position=position * 10, name=default_rule_name(key, shop.language),
            match=match, set_priority_id=priority, add_tags=tags)
        RuleCondition.objects.bulk_create(
            RuleCondition(rule=rule, field=f, operator=o, value=v) for f, o, v in conditions
        )
