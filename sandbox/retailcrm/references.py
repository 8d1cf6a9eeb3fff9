"""Default reference books of a RetailCRM account (docs/vendors/retailcrm.md §10), plus the
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


# The books an order's codes point at (§10). Names are what a person sees in
# RetailCRM's back office; the emulator's pages never show a bare code.
ORDER_METHODS = [
    ("shopping-cart", "Корзина на сайте"), ("phone", "По телефону"),
    ("one-click", "Купить в один клик"), ("call-request", "Заказ звонка"),
]
DELIVERY_TYPES = [
    ("courier", "Курьерская доставка", 350.0), ("russian-post", "Почта России", 290.0),
    ("cdek", "СДЭК", 420.0), ("self-delivery", "Самовывоз", 0.0),
]
PAYMENT_TYPES = [
    ("bank-card", "Банковской картой"), ("cash", "Наличными курьеру"),
    ("bank-transfer", "Безналичный расчёт"),
]
PAYMENT_STATUSES = [
    ("not-paid", "Не оплачен", False), ("invoice", "Выставлен счёт", False),
    ("paid", "Оплачен", True), ("returned", "Возврат средств", False),
]


def order_books() -> dict:
    """`orderMethods`, `deliveryTypes`, `paymentTypes`, `paymentStatuses`
    as `/reference/<book>` returns them (objects keyed by code)."""
    methods = {code: {"name": name, "code": code, "active": True,
                      "defaultForCrm": code == "phone", "defaultForApi": code == "shopping-cart",
                      "isFromPos": False}
               for code, name in ORDER_METHODS}
    deliveries = {code: {"name": name, "code": code, "active": True, "defaultCost": cost,
                         "defaultNetCost": round(cost * 0.8, 2), "description": "",
                         "paymentTypes": [p for p, _ in PAYMENT_TYPES], "deliveryServices": [],
                         "defaultForCrm": code == "courier", "currency": "RUB", "sites": []}
                  for code, name, cost in DELIVERY_TYPES}
    payments = {code: {"name": name, "code": code, "active": True, "description": "",
                       "deliveryTypes": [d for d, _, _ in DELIVERY_TYPES],
                       "paymentStatuses": [s for s, _, _ in PAYMENT_STATUSES], "sites": []}
                for code, name in PAYMENT_TYPES}
    statuses = {code: {"name": name, "code": code, "active": True, "paymentComplete": complete,
                       "ordering": index * 10, "defaultForCrm": code == "not-paid",
                       "defaultForApi": code == "not-paid", "paymentTypes": []}
                for index, (code, name, complete) in enumerate(PAYMENT_STATUSES, start=1)}
    return {"orderMethods": methods, "deliveryTypes": deliveries, "paymentTypes": payments,
            "paymentStatuses": statuses}
