"""The old name of `manage.py sandbox_pump` (`make run` still starts it by
this name): it delivers the HDE dispatcher's webhooks and, since RetailCRM
triggers exist, their requests too."""

from sandbox.management.commands.sandbox_pump import Command as PumpCommand


class Command(PumpCommand):
    pass
