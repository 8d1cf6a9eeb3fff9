"""Send queued HDE-emulator webhook deliveries every 0.5 s until interrupted.

Runs beside the web server in `make run`, so the emulated dispatcher calls the
portal after the request that triggered it has finished (see
sandbox.hde.dispatcher).
"""

import time

from django.core.management.base import BaseCommand
from django.db import OperationalError

from sandbox.hde.dispatcher import pump


class Command(BaseCommand):
    help = "Deliver the HelpDeskEddy emulator's dispatcher webhooks (loops until Ctrl-C)."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=0.5)
        parser.add_argument("--once", action="store_true", help="Pump once and exit.")

    def handle(self, *args, interval, once, **options):
        try:
            while True:
                try:
                    sent = pump()
                except OperationalError as exc:  # e.g. tables not migrated yet, DB busy
                    self.stderr.write(f"sandbox_hde_pump: {exc}")
                    sent = 0
                if sent and options["verbosity"] > 1:
                    self.stdout.write(f"sent {sent} webhook deliveries")
                if once:
                    return
                time.sleep(interval)
        except KeyboardInterrupt:
            return
