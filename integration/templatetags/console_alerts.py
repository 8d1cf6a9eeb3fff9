"""The admin's alert banner: conditions holding now on the user's shops
(kept by the `alerts-check` job in AlertState; one query per page)."""

from django import template

from integration.vendors.errors import shown_text
from integration.vendors.facts import right_name

register = template.Library()
# A stored vendor error in the reader's words (fixed words and known vendor
# texts translated; anything else as the vendor wrote it).
register.filter("vendor_words", shown_text)
# A RetailCRM right ("task_write") as a person names it ("editing tasks").
register.filter("right_name", right_name)


@register.inclusion_tag("admin/console/alert_banner.html", takes_context=True)
def console_alert_banner(context):
    from integration.console.dashboard import active_alerts

    request = context.get("request")
    user = getattr(request, "user", None)
    return {"alerts": active_alerts(user) if user is not None else []}
