"""Schedules declared in code and upserted by `manage.py ensure_schedules`.

Names are stable keys: renaming one leaves the old row to be deleted by the
command. `func` must stay a valid dotted path (a test resolves each).
"""

from django_q.models import Schedule

SCHEDULES = [
    {
        "name": "purge-old-logs",
        "func": "integration.tasks.logs_purge_task",
        "schedule_type": Schedule.HOURLY,
    },
]
