import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Run the web server, the django-q2 worker and (with the sandbox) the HDE emulator's "
        "dispatcher together under honcho. "
        "Ctrl-C stops both."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))

    def handle(self, *args, port, **options):
        from honcho.manager import Manager

        python = sys.executable
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        manager = Manager()
        manager.add_process(
            "web", f"{python} manage.py runserver 127.0.0.1:{port} --noreload", env=env
        )
        manager.add_process("worker", f"{python} manage.py qcluster", env=env)
        if settings.SANDBOX_ENABLED:
            # The HDE emulator's dispatcher sends its webhooks from its own
            # process, like the real HDE, never from inside a request.
            manager.add_process("sandbox-pump", f"{python} manage.py sandbox_pump", env=env)
        self.stdout.write(f"Portal: http://127.0.0.1:{port}/admin/ (Ctrl-C stops everything)")
        manager.loop()
        sys.exit(manager.returncode)
