"""Sensible defaults for a newly connected shop: priorities, the CRM card
field, field mappings and the default rules; and the HDE dispatcher wiring
for the emulator (a real HDE admin pastes the same rules by hand)."""

from integration.models import FieldMapping, MappedValue, PriorityRule, ShopSettings
from integration.services.priority import default_rules_create
from integration.services.reply_defaults import reply_templates_default_create


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


def hde_dispatcher_wire(*, hde_account_code: str, webhook_url: str, secret: str) -> None:
    """Point the HDE emulator's dispatcher at the portal, exactly as the
    README tells a real HDE admin to: one rule per event, the secret as Basic
    credentials, a body with the event name and ids only."""
    from integration.services.hde_setup import BASIC_USERNAME, DISPATCHER_TEMPLATES
    from sandbox.hde import dispatcher
    from sandbox.hde.models import Account

    account = Account.objects.get(code=hde_account_code)
    for event, template in DISPATCHER_TEMPLATES.items():
        dispatcher.add_webhook_rule(
            account, name=f"Portal: {event}", events=[event], url=webhook_url,
            template=template, username=BASIC_USERNAME, password=secret,
        )
