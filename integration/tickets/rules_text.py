"""Priority rules in words: what the rules pages, the dry run and "Try with
e-mail" show instead of codes, ids and Python values.

A condition stores codes (`delivery`, HDE department 3) and the rules look
at raw facts (True, 52300.0, ["new", "delivery"]). People read names from
the vendors' own lists ("Доставляется", "Отдел продаж"), yes/no, and money in
the shop's currency. The lists come from the one reader of each vendor
(`hde_choices_get`, `retailcrm_choices_get`), both cached; a name that cannot
be found is shown as the code it is, never as an empty cell.
"""

from dataclasses import dataclass

from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from integration.core.formatting import money, number
from integration.customers.choices import RetailCrmChoices, retailcrm_choices_get
from integration.models import ConditionField, Operator
from integration.tickets.priority import MONEY_FIELDS, NUMBER_FIELDS, PICKED_FIELDS, YES_NO_FIELDS
from integration.vendors.helpdeskeddy_choices import HdeChoices, hde_choices_get

F = ConditionField
# Field names for people where the stored label speaks of codes and ids that
# the form now picks by name (the stored labels stay: they are the model's).
FIELD_LABELS = {
    F.ORDER_IN_GROUP: gettext_lazy("has an order in status group"),
    F.ORDER_IN_STATUS: gettext_lazy("has an order in status"),
    F.TICKET_ORDER_STATUS: gettext_lazy("order named in the ticket: status"),
    F.DEPARTMENT: gettext_lazy("ticket department"),
    F.TICKET_TYPE: gettext_lazy("ticket type"),
}
HDE_LISTS = ("departments", "types")


def field_label(field_name: str) -> str:
    return str(FIELD_LABELS.get(field_name) or ConditionField(field_name).label)


def field_choices() -> list[tuple[str, str]]:
    return [(value, field_label(value)) for value in ConditionField.values]


@dataclass
class RuleNames:
    """Everything needed to word a shop's rules, read once per page."""

    hde: HdeChoices
    retailcrm: RetailCrmChoices
    currency: str = "RUB"

    def priority(self, priority_id) -> str:
        """A priority's name; "—" for none; the id only when HDE's list is
        unavailable (then the page says why)."""
        if priority_id in (None, ""):
            return "—"
        return self.hde.name_of("priorities", priority_id) or (
            gettext("priority %(id)s") % {"id": priority_id})

    def picked(self, source: str, code) -> str:
        if source in HDE_LISTS:
            return self.hde.name_of(source, code) or str(code)
        return self.retailcrm.name_of(source, code) or str(code)

    def choices(self, source: str) -> list[tuple[str, str]]:
        lists = self.hde if source in HDE_LISTS else self.retailcrm
        return [(str(code), name) for code, name in getattr(lists, source)]

    def list_error(self, source: str) -> str:
        return (self.hde if source in HDE_LISTS else self.retailcrm).error


def rule_names_get(*, shop, retailcrm: bool = True, picking: bool = False) -> RuleNames:
    """`retailcrm=False` when only HDE's names are needed (the rules list);
    `picking` for a form that offers RetailCRM's lists to choose from (see
    `retailcrm_choices_get`)."""
    return RuleNames(hde=hde_choices_get(shop=shop, picking=picking),
                     retailcrm=(retailcrm_choices_get(shop=shop, picking=picking) if retailcrm
                                else RetailCrmChoices()),
                     currency=shop.currency or "RUB")


YES, NO = pgettext_lazy("fact", "yes"), pgettext_lazy("fact", "no")


def value_text(field_name: str, value, names: RuleNames) -> str:
    """A condition's expected value as a person reads it."""
    if field_name in MONEY_FIELDS:
        return money(value, names.currency) or str(value)
    if field_name in NUMBER_FIELDS:
        return number(value, places=0) or str(value)
    if field_name in PICKED_FIELDS:
        return ", ".join(names.picked(PICKED_FIELDS[field_name], code.strip())
                         for code in str(value).split(",") if code.strip())
    return str(value)


def condition_text(*, field: str, operator: str, value: str, names: RuleNames) -> str:
    """"has an order in status group equals Доставка"; a yes/no condition
    reads without its (unused) value."""
    words = f"{field_label(field)} {Operator(operator).label}"
    if operator in (Operator.IS_TRUE, Operator.IS_FALSE) or value in (None, ""):
        return words
    return f"{words} {value_text(field, value, names)}"


def actual_text(field_name: str, actual, names: RuleNames) -> str:
    """The fact a condition looked at: yes/no, money, names; "—" when the
    fact is unknown (no customer, no order named in the ticket)."""
    if actual is None or actual == "" or actual == []:
        return str(NO) if field_name in YES_NO_FIELDS else "—"
    if isinstance(actual, bool) or field_name in YES_NO_FIELDS:
        return str(YES if actual else NO)
    if isinstance(actual, list | tuple | set):
        return ", ".join(value_text(field_name, item, names) for item in actual)
    return value_text(field_name, actual, names)


@dataclass
class ConditionLine:
    text: str
    held: bool
    actual: str


def trace_lines(decision, names: RuleNames) -> list[tuple[object, list[ConditionLine]]]:
    """Each rule's result with its conditions worded (for "Try with e-mail")."""
    return [(rule, [ConditionLine(condition_text(field=c.field, operator=c.operator,
                                                 value=c.value, names=names),
                                  c.held, actual_text(c.field, c.actual, names))
                    for c in rule.conditions])
            for rule in decision.trace]
