"""Seed both emulators and the demo agencies wired to them.

One command for the demo (`make run`) and for benchmarks: a rerun resets to
the same data (shop public ids are derived from names, so bookmarked widget
links keep working; secrets and tokens are new on each run). With `--json`
exactly one JSON document goes to stdout; progress goes to stderr.

The demo shop also gets six weeks of past work (sandbox.demo_history), so
analytics, the dashboard, order watch and a dead event to replay have
something to show; `cases` in the output says where each demo case lives.
"""

import json
import sys
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings
from django.urls import reverse

from integration.models import (
    Agency,
    HelpDeskEddyConnection,
    Membership,
    RetailCrmConnection,
    Role,
    SecretKind,
    Shop,
)
from integration.onboarding.shop_defaults import shop_defaults_apply
from integration.tenancy.secrets import shop_secret_issue
from sandbox import demo_history
from sandbox.hde.wiring import hde_dispatcher_wire
from sandbox.retailcrm.wiring import retailcrm_trigger_wire

DEMO_NAMESPACE = uuid.UUID("6f1c2a9e-3d4b-4c8e-9a0f-7b5e1d2c3a4b")
DEMO_PASSWORD = "demo-pass-2026"

# The HDE emulator's seeded priorities (ids are not ordered by severity).
HDE_URGENT, HDE_STANDARD = 1, 2

# (agency, shop, RetailCRM account code, HDE account code, language)
DEMO_SHOPS = [
    ("Demo Agency", "Demo Shop", "demo", "demo", "ru"),
    ("Second Agency", "Second Shop", "agency-second", "agency-second", "en"),
]


def _log(message: str) -> None:
    sys.stderr.write(message + "\n")


class Command(BaseCommand):
    help = "Reset the RetailCRM and HDE emulators and the demo agencies wired to them."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print one JSON document.")
        parser.add_argument("--base-url", default=None,
                            help="Public URL of this portal (default PORTAL_BASE_URL).")
        parser.add_argument(
            "--behaviour", action="append", default=[], metavar="VENDOR:ACCOUNT:SWITCH=VALUE",
            help="Answer one of a vendor's open questions for an emulator account, e.g. "
                 "retailcrm:demo:order_list_order=oldest_first or "
                 "hde:demo:tags_on_update=refuse (repeatable; see the sandbox READMEs).")

    def handle(self, *args, json: bool = False, base_url=None, behaviour=(),
               **options):  # noqa: A002
        base_url = (base_url or settings.PORTAL_BASE_URL).rstrip("/")
        from sandbox.hde import seed as hde_seed
        from sandbox.retailcrm import seed as retailcrm_seed

        switches = parse_behaviour(behaviour)
        _log("Seeding the RetailCRM emulator…")
        retailcrm = retailcrm_seed.seed(base_url=base_url, behaviour=switches["retailcrm"])
        _log("Seeding the HDE emulator…")
        hde = hde_seed.seed(base_url=base_url, behaviour=switches["hde"])
        with transaction.atomic():
            shops = self._wire_demo_shops(base_url, retailcrm, hde)
            users = self._demo_users()
        _log("Writing six weeks of demo history…")
        with override_settings(PORTAL_BASE_URL=base_url):
            history = demo_history.seed_history(
                shop=Shop.objects.get(public_id=shops[0]["public_id"]),
                retailcrm_account=DEMO_SHOPS[0][2], hde_account=DEMO_SHOPS[0][3])
        document = {"base_url": base_url, "retailcrm": retailcrm, "hde": hde, "shops": shops,
                    "users": users, "history": history,
                    "cases": demo_cases(base_url, retailcrm, history)}
        if json:
            self.stdout.write(_json_dumps(document))
        else:
            self._print_summary(document)

    def _wire_demo_shops(self, base_url, retailcrm, hde):
        from sandbox.hde import seed as hde_fields

        rc_accounts = {a["code"]: a for a in retailcrm["accounts"]}
        hde_accounts = {a["code"]: a for a in hde["accounts"]}
        Agency.objects.filter(name__in=[row[0] for row in DEMO_SHOPS]).delete()
        shops = []
        for agency_name, shop_name, rc_code, hde_code, language in DEMO_SHOPS:
            agency, _ = Agency.objects.get_or_create(name=agency_name)
            shop = Shop.objects.create(
                agency=agency, name=shop_name, language=language,
                public_id=uuid.uuid5(DEMO_NAMESPACE, shop_name),
            )
            rc, desk = rc_accounts[rc_code], hde_accounts[hde_code]
            RetailCrmConnection.objects.create(shop=shop, base_url=rc["url"],
                                               api_key=rc["api_key"],
                                               site_code=rc.get("site", ""))
            HelpDeskEddyConnection.objects.create(shop=shop, base_url=desk["url"],
                                                  agent_email=desk["email"],
                                                  api_key=desk["api_key"])
            webhook_secret = shop_secret_issue(shop=shop, kind=SecretKind.HDE_WEBHOOK,
                                               label="demo")
            trigger_secret = shop_secret_issue(shop=shop, kind=SecretKind.RETAILCRM_TRIGGER,
                                               label="demo")
            widget_token = shop_secret_issue(shop=shop, kind=SecretKind.WIDGET_TOKEN,
                                             label="demo")
            webhook_url = base_url + reverse("hook-hde", args=[shop.public_id])
            hde_dispatcher_wire(hde_account_code=hde_code, webhook_url=webhook_url,
                                secret=webhook_secret)
            trigger_url = base_url + reverse("hook-retailcrm", args=[shop.public_id])
            retailcrm_trigger_wire(account_code=rc_code, url=trigger_url, secret=trigger_secret)
            shop_defaults_apply(
                shop=shop, normal_priority_id=HDE_STANDARD, high_priority_id=HDE_URGENT,
                crm_card_field_id=hde_fields.CRM_CARD,
                mappings={"customer_id": hde_fields.CUSTOMER_ID,
                          "orders_count": hde_fields.ORDERS_COUNT,
                          "total_sum": hde_fields.TOTAL_SPENT,
                          "last_order_status": hde_fields.LAST_ORDER_STATUS},
                fallback_manager_id=rc.get("fallback_manager_id"),
            )
            shops.append({
                "agency": agency_name, "name": shop_name, "public_id": str(shop.public_id),
                "retailcrm_account": rc_code, "hde_account": hde_code,
                "webhook_url": webhook_url, "webhook_secret": webhook_secret,
                "trigger_url": trigger_url,
                "trigger_secret": trigger_secret, "widget_token": widget_token,
            })
        return shops

    def _demo_users(self):
        User = get_user_model()
        users = []
        for agency_name, *_ in DEMO_SHOPS:
            username = agency_name.lower().replace(" ", "-") + "-owner"
            User.objects.filter(username=username).delete()
            user = User.objects.create_user(username=username, password=DEMO_PASSWORD,
                                            email=f"{username}@example.com")
            Membership.objects.create(user=user, agency=Agency.objects.get(name=agency_name),
                                      role=Role.OWNER)
            users.append({"username": username, "password": DEMO_PASSWORD,
                          "agency": agency_name, "role": "owner"})
        return users

    def _print_summary(self, document):
        self.stdout.write(self.style.SUCCESS("Emulators and demo shops are ready."))
        for shop in document["shops"]:
            self.stdout.write(f"  {shop['agency']} / {shop['name']}: {shop['public_id']}")
        for account in document["hde"]["accounts"]:
            if account.get("ticket_page"):
                self.stdout.write(f"  HDE tickets ({account['code']}): {account['ticket_page']}")
        for user in document["users"]:
            self.stdout.write(f"  Agency login: {user['username']} / {user['password']}")
        cases = document["cases"]
        self.stdout.write(f"  Demo cases: {document['base_url']}/sandbox/ lists them; in short:")
        self.stdout.write(f"    chooser: {cases['chooser']['hde_new_ticket']} → pick "
                          f"{cases['chooser']['requester']}")
        self.stdout.write(f"    order watch: {cases['order_watch']['customer']} → order "
                          f"{cases['order_watch']['order_number']} → «Проблема с доставкой»")
        self.stdout.write(f"    dead event to replay: {cases['dead_event']['event']}")
        self.stdout.write(f"    analytics: {cases['analytics']}")


def parse_behaviour(items) -> dict[str, dict[str, dict[str, str]]]:
    """`["retailcrm:demo:order_list_order=oldest_first", ...]` →
    `{"retailcrm": {"demo": {"order_list_order": "oldest_first"}}, "hde": {}}`,
    checked before anything is wiped."""
    from sandbox.hde.behaviour import BOARD as HDE_BOARD
    from sandbox.hde.seed import ACCOUNTS as HDE_ACCOUNTS
    from sandbox.retailcrm.behaviour import BOARD as RETAILCRM_BOARD
    from sandbox.retailcrm.seed import PLANS as RETAILCRM_PLANS

    known = {"retailcrm": (RETAILCRM_BOARD, {plan.code for plan in RETAILCRM_PLANS}),
             "hde": (HDE_BOARD, {spec["code"] for spec in HDE_ACCOUNTS})}
    switches: dict[str, dict[str, dict[str, str]]] = {"retailcrm": {}, "hde": {}}
    for item in items:
        head, _, value = item.partition("=")
        parts = head.split(":")
        if len(parts) != 3 or parts[0] not in switches or not value:
            raise CommandError(f"--behaviour {item!r}: expected VENDOR:ACCOUNT:SWITCH=VALUE "
                               "with VENDOR retailcrm or hde")
        vendor, account, name = parts
        if account not in known[vendor][1]:
            raise CommandError(f"--behaviour {item!r}: no {vendor} emulator account "
                               f"{account!r} (seeded: {', '.join(sorted(known[vendor][1]))})")
        switches[vendor].setdefault(account, {})[name] = value
    for vendor, accounts in switches.items():
        for values in accounts.values():
            try:
                known[vendor][0].validate(values)
            except ValueError as error:
                raise CommandError(f"--behaviour: {error}") from error
    return switches


def demo_cases(base_url: str, retailcrm: dict, history: dict) -> dict:
    """Where each demo case starts (also listed on the sandbox front page)."""
    from sandbox.demo_people import PEOPLE_BY_KEY

    demo = next(a for a in retailcrm["accounts"] if a["code"] == DEMO_SHOPS[0][2])
    people = demo["people"]
    rc = f"{base_url}/sandbox/retailcrm/{demo['code']}"
    hde = f"{base_url}/sandbox/hde/{DEMO_SHOPS[0][3]}"
    admin_events = base_url + reverse("admin:integration_inboundevent_changelist")
    return {
        "chooser": {"hde_new_ticket": f"{hde}/tickets/new/",
                    "requester": PEOPLE_BY_KEY["chooser"].email,
                    "shared_phone": PEOPLE_BY_KEY["chooser"].phone,
                    "retailcrm_customers": [people["vip"]["customers"]["main"],
                                            people["vip_twin"]["customers"]["main"]]},
        "order_watch": {"customer": f"{rc}/customers/{people['hundred']['customers']['main']}",
                        "order_number": people["hundred"]["newest_order_number"],
                        "problem_order_number": people["problem"]["newest_order_number"]},
        "dead_event": {"sync_log": f"{admin_events}?state=dead",
                       "event": base_url + reverse("admin:integration_inboundevent_change",
                                                   args=[history["dead_event_id"]]),
                       "hde_ticket": f"{hde}/tickets/{history['dead_ticket_id']}/"},
        "analytics": base_url + reverse("admin:integration_supportanalytics_changelist"),
        "dashboard": base_url + reverse("admin:console-dashboard"),
    }


def _json_dumps(document) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2)
