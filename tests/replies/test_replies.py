"""Reply templates without vendors: every variable, the ticket's order,
conditions, missing data, both languages, save-time validation, defaults and
which shop's templates a widget may offer."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext

from integration.customers.types import (
    ContextStatus,
    CustomerContext,
    CustomerProfile,
    Delivery,
    Manager,
    OrderItem,
    OrderSummary,
)
from integration.models import ReplyTemplate
from integration.replies.defaults import DEFAULTS, reply_templates_default_create
from integration.replies.service import (
    VARIABLES,
    reply_body_errors,
    reply_options_build,
    reply_render,
    reply_template_validate,
    ticket_order,
)


def _in_russian(text):
    with translation.override("ru"):
        return gettext(text)


EVERY_VARIABLE = "\n".join(f"{name}={{{{ {name} }}}}" for name in VARIABLES)


def _order(number="1001A", group="delivery", bucket="active", created="2026-11-20T23:30:00+00:00",
           **fields):
    return OrderSummary(
        id=1, number=number, status_code="delivering", status_name="Доставляется",
        status_group=group, bucket=bucket, created_at=created, total=12345.5, currency="RUB",
        items=[OrderItem(name="Куртка", quantity=1, price=9000),
               OrderItem(name="Шапка", quantity=2.0, price=1672.75)],
        delivery=Delivery(type_name="Курьер", date="2026-11-27", address="Москва, Тверская, 1",
                          track_number="RP000000001RU"),
        payment_state="paid", **fields)


def _context(orders=None, vip=False, manager=True, pinned=""):
    return CustomerContext(
        status=ContextStatus.FOUND,
        customer=CustomerProfile(id=7, name="Петров Иван", first_name="Иван",
                                 emails=["ivan@example.ru"],
                                 phones=["8 (903) 555 12 34"], vip=vip),
        orders=[_order()] if orders is None else orders,
        manager=Manager(id=3, name="Анна Менеджер", email="anna@shop.example",
                        phone="+74950000000") if manager else None,
        pinned_order_number=pinned)


@pytest.fixture
def ru_shop(make_agency, make_shop):
    return make_shop(make_agency("RU agency"), name="Магазин", language="ru", currency="RUB",
                     timezone="Europe/Moscow")


@pytest.fixture
def en_shop(make_agency, make_shop):
    return make_shop(make_agency("EN agency"), name="Shop", language="en", currency="USD",
                     timezone="America/New_York")


def _template(shop, body, **fields):
    return ReplyTemplate.objects.create(shop=shop, name=fields.pop("name", "T"), body=body,
                                        language=fields.pop("language", shop.language),
                                        **fields)


def test_every_variable_renders_in_a_russian_shop(ru_shop):
    rendered = reply_render(shop=ru_shop, template=_template(ru_shop, EVERY_VARIABLE),
                            context=_context())
    values = dict(line.split("=", 1) for line in rendered.text.splitlines())
    assert values == {
        "customer.first_name": "Иван",
        "customer.name": "Петров Иван", "customer.email": "ivan@example.ru",
        "customer.phone": "+7 903 555-12-34",  # stored as "8 (903) 555 12 34"
        "order.number": "1001A", "order.status": "Доставляется",
        "order.date": "21.11.2026",  # 23:30 UTC is the next day in Moscow
        "order.total": "12\u00a0345,50\u00a0₽",  # Russian: decimal comma, sign after
        "order.items": "Куртка × 1, Шапка × 2",
        "order.payment": _in_russian("paid"),
        "order.delivery_type": "Курьер", "order.delivery_date": "27.11.2026",
        "order.delivery_address": "Москва, Тверская, 1", "order.track_number": "RP000000001RU",
        "manager.name": "Анна Менеджер", "manager.phone": "+7 495 000-00-00",
        "manager.email": "anna@shop.example", "shop.name": "Магазин",
    }
    assert rendered.sendable and rendered.fits and rendered.order_number == "1001A"


def test_english_shop_uses_its_timezone_and_the_order_currency(en_shop):
    template = _template(en_shop, "#{{ order.number }} of {{ order.date }}: {{ order.total }}, "
                                  "{{ order.payment }}")
    context = _context(orders=[_order(created="2026-11-21T03:00:00+00:00")])
    context.orders[0].currency = "USD"
    context.orders[0].payment_state = "partially_paid"
    rendered = reply_render(shop=en_shop, template=template, context=context)
    # 03:00 UTC is still the evening before in New York; English money and dates.
    assert rendered.text == "#1001A of 20 Nov 2026: $12,345.50, partially paid"


def test_the_order_is_the_pinned_one_else_the_newest_active():
    old = _order(number="1", created="2026-10-01T10:00:00+03:00")
    new = _order(number="2", created="2026-11-01T10:00:00+03:00")
    done = _order(number="3", bucket="completed", group="complete",
                  created="2026-11-10T10:00:00+03:00")
    assert ticket_order(_context(orders=[old, done, new])).number == "2"
    assert ticket_order(_context(orders=[old, done, new], pinned="3")).number == "3"
    assert ticket_order(_context(orders=[done])) is None
    assert ticket_order(_context(orders=[done], pinned="404")) is None


def test_conditions_order_group_and_vip(ru_shop):
    delivery = _template(ru_shop, "x", order_status_groups="delivery")
    vip = _template(ru_shop, "x", vip_only=True)
    needs_order = _template(ru_shop, "x", order_required=True)

    def unmet(template, context):
        return reply_render(shop=ru_shop, template=template, context=context).unmet

    in_delivery = _context()
    assembling = _context(orders=[_order(group="assembling")])
    no_order = _context(orders=[])
    assert unmet(delivery, in_delivery) == []
    assert unmet(delivery, assembling) == ["the order is not at the stage: delivery"]
    assert unmet(delivery, no_order) == ["the order is not at the stage: delivery"]
    assert unmet(vip, in_delivery) == ["the customer is not VIP"]
    assert unmet(vip, _context(vip=True)) == []
    assert unmet(needs_order, no_order) == ["there is no order"]
    assert unmet(needs_order, assembling) == []


def test_missing_data_is_named_and_never_blank(ru_shop):
    template = _template(ru_shop, "Трек {{ order.track_number }}, менеджер {{ manager.name }}")
    order = _order()
    order.delivery.track_number = ""
    rendered = reply_render(shop=ru_shop, template=template,
                            context=_context(orders=[order], manager=False))
    assert not rendered.sendable
    assert rendered.missing == ["track number", "manager name"]
    assert rendered.text == "Трек [track number], менеджер [manager name]"
    assert rendered.reason == "Not available: no track number, manager name for this customer."
    no_order = reply_render(shop=ru_shop, template=_template(ru_shop, "№ {{ order.number }}"),
                            context=_context(orders=[]))
    assert not no_order.sendable and "names no order" in no_order.reason
    plain = reply_render(shop=ru_shop, template=_template(ru_shop, "Спасибо, {{ shop.name }}"),
                         context=_context(orders=[], manager=False))
    assert plain.sendable and plain.text == "Спасибо, Магазин"


def test_unknown_variables_are_rejected_when_saving(ru_shop):
    template = ReplyTemplate(shop=ru_shop, name="Bad", body="{{ order.numbr }} {{ customer }}")
    with pytest.raises(ValidationError) as error:
        reply_template_validate(body=template.body, status_groups=template.status_groups)
    message = " ".join(error.value.message_dict["body"])
    assert "{{ order.numbr }}" in message and "{{ customer }}" in message
    assert reply_body_errors("{{ order.number }") == [
        "Unclosed braces: write a variable as {{ order.number }}."]
    assert reply_body_errors("Hi {{order.number}} {{ shop.name }}") == []
    groups = ReplyTemplate(shop=ru_shop, name="G", body="x", order_status_groups="delivery,nope")
    with pytest.raises(ValidationError) as error:
        reply_template_validate(body=groups.body, status_groups=groups.status_groups)
    assert "nope" in " ".join(error.value.message_dict["order_status_groups"])


def test_defaults_in_both_languages_are_valid_and_created_once(ru_shop):
    assert reply_templates_default_create(shop=ru_shop) == len(DEFAULTS["ru"]) + len(
        DEFAULTS["en"])
    assert reply_templates_default_create(shop=ru_shop) == 0
    templates = ReplyTemplate.objects.for_shop(ru_shop)
    assert set(templates.values_list("language", flat=True)) == {"ru", "en"}
    for template in templates:
        # every default passes the admin's validation
        reply_template_validate(body=template.body, status_groups=template.status_groups)
    # A customer with an order in delivery: status and delivery date fit and
    # are complete; the tracking template is greyed (no track number).
    order = _order()
    order.delivery.track_number = ""
    options = reply_options_build(shop=ru_shop, context=_context(orders=[order]))
    names = [r.template.name for r in options.suggested]
    assert names[:2] == ["Статус заказа", "Дата доставки"]
    assert names[-1] == "Трек-номер" and not options.suggested[-1].sendable
    assert {r.template.language for r in options.suggested} == {"ru"}
    assert [r.template.language for r in options.others] == ["en"] * len(DEFAULTS["en"])


def test_defaults_come_with_shop_defaults_apply(ru_shop):
    from integration.onboarding.shop_defaults import shop_defaults_apply

    shop_defaults_apply(shop=ru_shop, normal_priority_id=2, high_priority_id=1)
    assert ReplyTemplate.objects.for_shop(ru_shop).count() == 10


def test_widget_options_never_include_another_shops_templates(ru_shop, make_agency, make_shop):
    other = make_shop(make_agency("Other agency"), name="Other", language="ru")
    _template(ru_shop, "ours", name="Ours")
    _template(other, "theirs", name="Theirs")
    _template(ru_shop, "off", name="Inactive", active=False)
    options = reply_options_build(shop=ru_shop, context=_context())
    assert [r.template.name for r in options.suggested + options.others] == ["Ours"]


def test_replies_greet_by_first_name_never_by_an_address(ru_shop):
    """"Здравствуйте, Иван!", not "Здравствуйте, Петров Иван!"; a customer
    created from an e-mail carries "ivan.petrov" as a first name, which is
    no name to greet by: that reply is greyed, never sent with it."""
    reply_templates_default_create(shop=ru_shop)
    template = ReplyTemplate.objects.for_shop(ru_shop).get(name="Разбираемся")
    rendered = reply_render(shop=ru_shop, template=template, context=_context())
    assert rendered.text.startswith("Здравствуйте, Иван!\n")
    english = ReplyTemplate.objects.for_shop(ru_shop).get(name="We are looking into it")
    assert reply_render(shop=ru_shop, template=english,
                        context=_context()).text.startswith("Hello Иван,\n")
    context = _context()
    context.customer.first_name = "ivan.petrov"
    rendered = reply_render(shop=ru_shop, template=template, context=context)
    assert not rendered.sendable and rendered.missing == ["customer first name"]
    assert "ivan.petrov" not in rendered.text
