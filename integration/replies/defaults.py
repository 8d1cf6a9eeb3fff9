"""The reply templates every new shop starts with, in Russian and English.

They are data, not interface strings: each language's text is written out
here (not machine-translated through gettext) because a reply to a customer
must read as if a person wrote it. Shop admins edit them freely afterwards.
"""

from integration.models import ReplyTemplate

_SIGN_RU = "\n\nС уважением,\nслужба поддержки {{ shop.name }}"
_SIGN_EN = "\n\nKind regards,\n{{ shop.name }} support"

DEFAULTS = {
    "ru": [
        {"name": "Статус заказа", "order_required": True, "body": (
            "Здравствуйте, {{ customer.first_name }}!\n\n"
            "Ваш заказ № {{ order.number }} от {{ order.date }} на сумму {{ order.total }} "
            "сейчас в статусе «{{ order.status }}».\n"
            "Состав заказа: {{ order.items }}.\n\n"
            "Как только статус изменится, мы сообщим. Если остались вопросы, просто ответьте "
            "на это письмо." + _SIGN_RU)},
        {"name": "Дата доставки", "order_status_groups": "delivery", "body": (
            "Здравствуйте, {{ customer.first_name }}!\n\n"
            "Заказ № {{ order.number }} уже в доставке ({{ order.delivery_type }}). "
            "Ожидаемая дата доставки — {{ order.delivery_date }}, адрес: "
            "{{ order.delivery_address }}.\n\n"
            "Если дата или адрес не подходят, ответьте на это письмо, и мы договоримся о "
            "другом времени." + _SIGN_RU)},
        {"name": "Трек-номер", "order_status_groups": "delivery", "body": (
            "Здравствуйте, {{ customer.first_name }}!\n\n"
            "Отследить заказ № {{ order.number }} можно по трек-номеру "
            "{{ order.track_number }} на сайте службы доставки "
            "({{ order.delivery_type }})." + _SIGN_RU)},
        {"name": "Как вернуть товар", "body": (
            "Здравствуйте, {{ customer.first_name }}!\n\n"
            "Вернуть товар надлежащего качества можно в течение 7 дней после получения, "
            "если сохранены его товарный вид, упаковка и ярлыки.\n\n"
            "1. Ответьте на это письмо: укажите номер заказа и товар, который хотите вернуть.\n"
            "2. Мы пришлём адрес и бланк заявления на возврат.\n"
            "3. Деньги вернём тем же способом, которым был оплачен заказ, в течение 10 дней "
            "после получения товара." + _SIGN_RU)},
        {"name": "Разбираемся", "body": (
            "Здравствуйте, {{ customer.first_name }}!\n\n"
            "Спасибо, что написали. Мы уже разбираемся с вашим вопросом и вернёмся с ответом "
            "в течение рабочего дня. Ничего дополнительно делать не нужно." + _SIGN_RU)},
    ],
    "en": [
        {"name": "Order status", "order_required": True, "body": (
            "Hello {{ customer.first_name }},\n\n"
            "Your order #{{ order.number }} of {{ order.date }} ({{ order.total }}) is now "
            "\"{{ order.status }}\".\n"
            "Items: {{ order.items }}.\n\n"
            "We will let you know as soon as this changes. If you have any questions, just "
            "reply to this e-mail." + _SIGN_EN)},
        {"name": "Delivery date", "order_status_groups": "delivery", "body": (
            "Hello {{ customer.first_name }},\n\n"
            "Your order #{{ order.number }} is on its way ({{ order.delivery_type }}). "
            "Expected delivery date: {{ order.delivery_date }}, to "
            "{{ order.delivery_address }}.\n\n"
            "If the date or the address does not suit you, reply to this e-mail and we will "
            "arrange another time." + _SIGN_EN)},
        {"name": "Tracking number", "order_status_groups": "delivery", "body": (
            "Hello {{ customer.first_name }},\n\n"
            "You can track order #{{ order.number }} with tracking number "
            "{{ order.track_number }} on the carrier's website "
            "({{ order.delivery_type }})." + _SIGN_EN)},
        {"name": "How to return an item", "body": (
            "Hello {{ customer.first_name }},\n\n"
            "You can return an unused item within 14 days of delivery, in its original "
            "packaging with the labels attached.\n\n"
            "1. Reply to this e-mail with your order number and the item you want to return.\n"
            "2. We will send you the return address and a return form.\n"
            "3. We refund to the original payment method within 10 days of receiving the item."
            + _SIGN_EN)},
        {"name": "We are looking into it", "body": (
            "Hello {{ customer.first_name }},\n\n"
            "Thank you for getting in touch. We are already looking into your question and "
            "will get back to you within one business day. There is nothing else you need to "
            "do." + _SIGN_EN)},
    ],
}


def reply_templates_default_create(*, shop) -> int:
    """Give a shop the default templates, once: a shop that already has
    templates (its own or these) is left alone. Returns how many were made."""
    if ReplyTemplate.objects.for_shop(shop).exists():
        return 0
    rows = [
        ReplyTemplate(shop=shop, language=language, position=position * 10, **spec)
        for language, specs in DEFAULTS.items() for position, spec in enumerate(specs, 1)
    ]
    ReplyTemplate.objects.bulk_create(rows)
    return len(rows)
