"""The sandbox's front page: what the emulators hold, for the demo."""

from django.db.models import Count
from django.shortcuts import render

from sandbox.hde.models import Account as HdeAccount
from sandbox.hde.models import HdeUser
from sandbox.retailcrm.models import Account as RcAccount


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
    })
