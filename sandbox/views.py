"""The sandbox's front page: what the emulators hold, and where each demo
case starts (what to click to see every feature)."""

from django.db.models import Count
from django.shortcuts import render
from django.urls import reverse

from integration.models import EventSource, EventState, InboundEvent
from sandbox.demo_people import PEOPLE_BY_KEY
from sandbox.hde.models import Account as HdeAccount
from sandbox.hde.models import HdeUser
from sandbox.retailcrm.models import Account as RcAccount
from sandbox.retailcrm.models import Customer, Order

DEMO_ACCOUNT = "demo"  # the RetailCRM and HDE accounts of the demo shop


def index(request):
    retailcrm = RcAccount.objects.annotate(
        customer_count=Count("customer", distinct=True)).prefetch_related("keys").order_by("code")
    hde = HdeAccount.objects.order_by("code")
    agents = {}
    for user in (HdeUser.objects.filter(group_type=HdeUser.STAFF).exclude(api_key="")
                 .order_by("hid")):
        agents.setdefault(user.account_id, user)  # the integration agent is the first
    return render(request, "sandbox/index.html", {
        "retailcrm": retailcrm, "hde": [(account, agents.get(account.pk)) for account in hde],
        "base": request.build_absolute_uri("/").rstrip("/"),
        "cases": demo_cases(),
    })


def _customer(account, key: str) -> dict | None:
    person = PEOPLE_BY_KEY[key]
    customer = Customer.objects.filter(account=account, email=person.email.lower()).order_by(
        "crm_id").first()
    if customer is None:
        return None
    newest = Order.objects.filter(account=account, customer_crm_id=customer.crm_id).order_by(
        "-created_at", "-crm_id").first()
    status = (account.references.get("statuses", {}).get(newest.status, {}).get("name", "")
              if newest else "")
    return {"name": f"{person.first_name} {person.last_name}", "id": customer.crm_id,
            "order": newest, "status": status}


def demo_cases() -> dict | None:
    """The seeded cases of the demo accounts, or None before `sandbox_seed`."""
    rc = RcAccount.objects.filter(code=DEMO_ACCOUNT).first()
    desk = HdeAccount.objects.filter(code=DEMO_ACCOUNT).first()
    if rc is None or desk is None:
        return None
    chooser = PEOPLE_BY_KEY["chooser"]
    digits = "".join(ch for ch in chooser.phone if ch.isdigit())[-10:]
    shared = Customer.objects.filter(account=rc, search_text__contains=digits).order_by("crm_id")
    dead = (InboundEvent.objects.filter(source=EventSource.HDE_WEBHOOK, state=EventState.DEAD)
            .order_by("-created_at").first())
    return {
        "rc": rc, "hde": desk,
        "requester": HdeUser.objects.filter(account=desk, email=chooser.email).first(),
        "chooser_phone": chooser.phone,
        "shared": [{"id": c.crm_id, "name": " ".join(
            p for p in (c.doc.get("firstName"), c.doc.get("lastName")) if p)} for c in shared],
        "watch": _customer(rc, "hundred"), "problem": _customer(rc, "problem"),
        "delivery": _customer(rc, "delivery"),
        "dead": dead, "dead_ticket": (dead.payload or {}).get("ticket_id") if dead else None,
        "dead_url": reverse("admin:integration_inboundevent_change", args=[dead.pk])
        if dead else "",
        "dead_list": reverse("admin:integration_inboundevent_changelist") + "?state=dead",
        "analytics": reverse("admin:integration_supportanalytics_changelist"),
        "order_watch": reverse("admin:integration_orderwatch_changelist"),
        "dashboard": reverse("admin:console-dashboard"),
    }
