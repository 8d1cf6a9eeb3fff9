"""`manage.py vendor_probe <shop>`: the contract probe from a shell.

What a deployer runs before going live with a real RetailCRM and HDE (README
"Connecting a real shop"): every assumption the portal relies on, checked
against the shop's own accounts, printed per line in words and kept as the
shop's latest report (the shop page shows it too). Read-only unless
`--write-test` is given; exits 1 when the accounts differ in a way the portal
cannot work around, so a deploy script can stop on it.
"""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext

from integration.models import Shop
from integration.vendors.probe import probe_run, probe_start, report_view

# Signs, not words, so a report printed in any language reads in that language alone.
MARKS = {"holds": "✓", "differs": "≠", "unchecked": "?"}


class Command(BaseCommand):
    help = ("Check every assumption the portal makes about RetailCRM and HelpDeskEddy against "
            "the shop's own accounts (read-only unless --write-test), keep the report and "
            "switch the portal's tolerant paths to what was found.")

    def add_arguments(self, parser):
        parser.add_argument("shop", help="The shop's public id, database id or exact name.")
        parser.add_argument(
            "--write-test", action="store_true",
            help="Also create a test ticket in HelpDeskEddy (requester: the portal's own "
                 "agent), set a priority, a custom field and tags, read it back and close it. "
                 "Nothing is ever written to RetailCRM.")
        parser.add_argument("--language", default="en", help="Language of the printed report.")
        parser.add_argument("--json", action="store_true", help="Print the stored lines as JSON.")

    def handle(self, *args, shop, write_test, language, json, **options):
        target = self._shop(shop)
        report = probe_run(report=probe_start(shop=target, write_test=write_test))
        if json:
            self.stdout.write(_dumps({"shop": str(target.public_id), "lines": report.lines,
                                      "error": report.error}))
        else:
            with translation.override(language):
                self._print(target, report_view(report))
        if report.untolerated:
            raise SystemExit(1)

    @staticmethod
    def _shop(value: str) -> Shop:
        shops = Shop.objects.select_related("retailcrm", "helpdeskeddy")
        for lookup in ("public_id", "pk", "name"):
            try:
                return shops.get(**{lookup: value})
            except (Shop.DoesNotExist, Shop.MultipleObjectsReturned, ValueError, TypeError,
                    ValidationError):
                continue
        raise CommandError(f"No shop {value!r} (give its public id, id or exact name).")

    def _print(self, shop, view):
        write = self.stdout.write
        write(gettext("%(shop)s: %(holds)s hold, %(differs)s differ (%(untolerated)s not "
                      "tolerated), %(unchecked)s not checked") % {
            "shop": shop.name, "holds": view["holds"], "differs": view["differs"],
            "untolerated": view["untolerated"], "unchecked": view["unchecked"]})
        for line in view["lines"]:
            question = f" [{line['question']}]" if line["question"] else ""
            write(f"{MARKS.get(line['outcome'], ' ')} {line['provider']}: "
                  f"{line['title']}{question} — {line['outcome_label']}")
            if line["detail"]:
                write(f"       {line['detail']}")
            for item in line["evidence"]:
                write(f"       · {item}")
            for item in line["switched"]:
                write(f"       → {item}")
        if view["error"]:
            write(view["error"])


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)
