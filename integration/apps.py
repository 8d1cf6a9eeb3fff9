from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationConfig(AppConfig):
    name = "integration"
    verbose_name = _("RetailCRM ↔ HelpDeskEddy integration")

    def ready(self):
        from integration.core import checks  # noqa: F401  (registers system checks)
        from integration.tenancy import signals

        signals.connect_post_migrate(self)
        from integration.inbox.handlers import register_all

        register_all()
        from integration.ops import metrics

        metrics.connect_signals()
        # A starting django-q2 worker recovers what a killed one left behind.
        from django_q.signals import post_spawn

        from integration.tasks import worker_started

        post_spawn.connect(worker_started, dispatch_uid="integration.worker_started")
