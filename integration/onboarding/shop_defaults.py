"""Sensible defaults for a newly connected shop: priorities, the CRM card
field, field mappings, the default rules and reply templates."""

from integration.models import FieldMapping, MappedValue, PriorityRule, ShopSettings
from integration.replies.defaults import reply_templates_default_create
from integration.tickets.priority import default_rules_create


def shop_defaults_apply(*, shop, normal_priority_id: int, high_priority_id: int,
                        crm_card_field_id: int | None = None,
                        mappings: dict[str, int] | None = None,
                        fallback_manager_id: int | None = None) -> ShopSettings:
    settings = ShopSettings.of(shop)
    settings.normal_priority_id = normal_priority_id
    settings.high_priority_id = high_priority_id
    settings.crm_card_field_id = crm_card_field_id
    settings.fallback_manager_id = fallback_manager_id
    settings.save()
    for position, (value, field_id) in enumerate((mappings or {}).items(), start=1):
        FieldMapping.objects.update_or_create(
            shop=shop, hde_field_id=field_id,
            defaults={"value": MappedValue(value), "position": position})
    if not PriorityRule.objects.for_shop(shop).exists():
        default_rules_create(shop=shop, normal_priority_id=normal_priority_id,
                             high_priority_id=high_priority_id)
    reply_templates_default_create(shop=shop)
    return settings

