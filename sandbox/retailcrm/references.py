"""Default reference books of a RetailCRM account (reference §10), plus the
"delivery problem" status our scenarios need. Shapes are the vendor's:
objects keyed by code, not arrays (gotcha §18.4)."""

# (group code, group name, process flag, [(status code, status name), ...])
DEFAULT_STATUS_GROUPS = [
    ("new", "Новый", False, [("new", "Новый")]),
    ("approval", "Согласование", True, [
        ("availability-confirmed", "Наличие подтверждено"),
        ("offer-analog", "Предложить замену"),
        ("client-confirmed", "Согласовано с клиентом"),
        ("prepayed", "Предоплата поступила"),
    ]),
    ("assembling", "Комплектация", True, [
        ("send-to-assembling", "Передано в комплектацию"),
        ("assembling", "Комплектуется"),
        ("assembling-complete", "Укомплектован"),
    ]),
    ("delivery", "Доставка", True, [
        ("send-to-delivery", "Передан в доставку"),
        ("delivering", "Доставляется"),
        ("redirect", "Доставка перенесена"),
        ("delivery-problem", "Проблема с доставкой"),
        ("delivered", "Доставлен"),
    ]),
    ("complete", "Выполнен", False, [("complete", "Выполнен")]),
    ("cancel", "Отменен", False, [
        ("no-call", "Недозвон"),
        ("no-product", "Нет в наличии"),
        ("already-buyed", "Купил в другом месте"),
        ("delyvery-did-not-suit", "Не устроила доставка"),
        ("prices-did-not-suit", "Не устроила цена"),
        ("cancel-other", "Отменен по другим причинам"),
    ]),
]


def status_books() -> tuple[dict, dict]:
    """`statuses` and `statusGroups` as `/reference/statuses` and
    `/reference/status-groups` return them."""
    statuses, groups = {}, {}
    ordering = 0
    for group_ordering, (group, group_name, process, members) in enumerate(
        DEFAULT_STATUS_GROUPS, start=1
    ):
        groups[group] = {
            "name": group_name, "code": group, "active": True,
            "ordering": group_ordering * 10, "process": process,
            "statuses": [code for code, _ in members],
        }
        for code, name in members:
            ordering += 10
            statuses[code] = {"name": name, "code": code, "active": True,
                              "ordering": ordering, "group": group}
    return statuses, groups


def status_group_of(status: str) -> str:
    for group, _, _, members in DEFAULT_STATUS_GROUPS:
        if any(code == status for code, _ in members):
            return group
    return ""


COMPLETED_GROUPS = {"complete", "cancel"}


def site_book(sites: list[tuple[str, str, str]]) -> dict:
    """`/reference/sites`: {code: {...}} from (code, name, url) triples."""
    return {
        code: {
            "id": index, "name": name, "url": url, "code": code,
            "defaultForCrm": index == 1, "countryIso": "RU", "currency": "RUB",
            "isDemo": False, "ordering": index * 10, "loadFromYml": False,
            "contragent": {"contragentType": "legal-entity", "legalName": f"ООО «{name}»"},
        }
        for index, (code, name, url) in enumerate(sites, start=1)
    }
