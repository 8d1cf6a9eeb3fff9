"""Wire a RetailCRM emulator account to a portal shop, as the top-level
README tells a shop's admin to do it in Automation → Triggers."""

from sandbox.retailcrm.triggers import add_trigger


def retailcrm_trigger_wire(*, account_code: str, url: str, secret: str):
    """On a status change, POST `order_id` and `status` as form fields with
    the secret in `X-Webhook-Secret` (used by `sandbox_seed` and the tests)."""
    return add_trigger(account_code, name="Портал: смена статуса заказа", url=url,
                       params={"order_id": "{{ order.id }}", "status": "{{ order.status.code }}"},
                       headers={"X-Webhook-Secret": secret})
