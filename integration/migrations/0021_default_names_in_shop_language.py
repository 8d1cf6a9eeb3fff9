"""Existing shops: the default priority rules get their names in the shop's
language, and the default reply templates greet by first name (issue 16:
"Приоритет установлен правилом: Order in delivery" in a Russian ticket,
"Здравствуйте, Петров Иван!").

Only what nobody touched changes: a rule still called by its English
default name in a Russian shop, a default template whose greeting line is
still the one the portal wrote. The words are written out here (not
imported) so this migration means the same thing whatever the code says
later.
"""

from django.db import migrations

RULES_RU = {
    "VIP customer": "VIP-клиент",
    "Loyal customer (≥ 5 orders or ≥ 50,000 spent)":
        "Постоянный клиент (≥ 5 заказов или покупки от 50 000)",
    "Order in delivery": "Заказ в доставке",
    "Overdue order": "Просроченный заказ",
    "Unknown customer": "Новый клиент",
}
GREETINGS = {
    "ru": ("Здравствуйте, {{ customer.name }}!", "Здравствуйте, {{ customer.first_name }}!",
           {"Статус заказа", "Дата доставки", "Трек-номер", "Как вернуть товар", "Разбираемся"}),
    "en": ("Hello {{ customer.name }},", "Hello {{ customer.first_name }},",
           {"Order status", "Delivery date", "Tracking number", "How to return an item",
            "We are looking into it"}),
}


def forwards(apps, schema_editor):
    PriorityRule = apps.get_model("integration", "PriorityRule")
    ReplyTemplate = apps.get_model("integration", "ReplyTemplate")
    for rule in PriorityRule.objects.filter(shop__language="ru", name__in=list(RULES_RU)):
        rule.name = RULES_RU[rule.name]
        rule.save(update_fields=["name"])
    for language, (old, new, names) in GREETINGS.items():
        for template in ReplyTemplate.objects.filter(language=language, name__in=names,
                                                     body__startswith=old + "\n"):
            template.body = new + template.body[len(old):]
            template.save(update_fields=["body"])


def backwards(apps, schema_editor):
    PriorityRule = apps.get_model("integration", "PriorityRule")
    ReplyTemplate = apps.get_model("integration", "ReplyTemplate")
    english = {ru: en for en, ru in RULES_RU.items()}
    for rule in PriorityRule.objects.filter(shop__language="ru", name__in=list(english)):
        rule.name = english[rule.name]
        rule.save(update_fields=["name"])
    for language, (old, new, names) in GREETINGS.items():
        for template in ReplyTemplate.objects.filter(language=language, name__in=names,
                                                     body__startswith=new + "\n"):
            template.body = old + template.body[len(new):]
            template.save(update_fields=["body"])


class Migration(migrations.Migration):

    dependencies = [
        ("integration", "0020_side_effect_claim"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
