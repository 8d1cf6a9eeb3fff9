"""Send the emulators' queued outgoing requests every 0.5 s until interrupted:
the HDE dispatcher's webhooks and RetailCRM's trigger requests.

Runs beside the web server, so an emulated vendor calls the portal after the
request that caused the call has finished (see sandbox.hde.dispatcher and
sandbox.retailcrm.triggers).
"""

import time

from django.core.management.base import BaseCommand
from django.db import OperationalError

from sandbox.hde.dispatcher import pump as hde_pump
from sandbox.retailcrm.triggers import pump as retailcrm_pump


class Command(BaseCommand):
    help = ("Deliver the emulators' HDE dispatcher webhooks and RetailCRM trigger requests "
            "(loops until Ctrl-C).")

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=0.5)
        parser.add_argument("--once", action="store_true", help="Pump once and exit.")

    def handle(self, *args, interval, once, **options):
        name = self.__module__.rsplit(".", 1)[-1]
        try:
            while True:
                sent = 0
                for pump in (hde_pump, retailcrm_pump):
                    try:
                        sent += pump()
                    except OperationalError as exc:  # e.g. tables not migrated yet, DB busy
                        self.stderr.write(f"{name}: {exc}")
                if sent and options["verbosity"] > 1:
                    self.stdout.write(f"sent {sent} deliveries")
                if once:
                    return
                time.sleep(interval)
        except KeyboardInterrupt:
            return
