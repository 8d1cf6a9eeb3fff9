from django.core.management.base import BaseCommand
from django.db import transaction
from django_q.models import Schedule

from integration.schedules import SCHEDULES


class Command(BaseCommand):
    help = "Create or update the code-declared django-q2 schedules (idempotent)."

    def handle(self, *args, **options):
        names = [item["name"] for item in SCHEDULES]
        with transaction.atomic():
            for item in SCHEDULES:
                defaults = {k: v for k, v in item.items() if k != "name"}
                Schedule.objects.filter(name=item["name"]).exclude(
                    pk__in=Schedule.objects.filter(name=item["name"]).order_by("pk")[:1]
                ).delete()
                Schedule.objects.update_or_create(name=item["name"], defaults=defaults)
            managed = Schedule.objects.filter(func__startswith="integration.")
            removed = managed.exclude(name__in=names).delete()[0]
        self.stdout.write(f"{len(names)} schedules ensured, {removed} stale removed.")
