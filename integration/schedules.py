"""Schedules declared in code and upserted by `manage.py ensure_schedules`.

Names are stable keys: renaming one leaves the old row to be deleted by the
command. `func` must stay a valid dotted path (a test resolves each).
"""

from django_q.models import Schedule

SCHEDULES = [
    {
        # Every minute: poll tasks (a chunk of shops each) for the watched shops that are due.
        "name": "order-watch-poll",
        "func": "integration.tasks.order_watch_fanout_task",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
    {
        # Every 10 minutes: tickets whose webhook never arrived (HDE gives up
        # after a day) are handled anyway; a new shop's open tickets are
        # back-filled on the first run.
        "name": "tickets-reconcile",
        "func": "integration.tasks.tickets_reconcile_all_task",
        "schedule_type": Schedule.MINUTES,
        "minutes": 10,
    },
    {
        # Every minute: due retries and events whose worker died mid-job.
        "name": "inbound-events-sweep",
        "func": "integration.tasks.inbound_events_sweep_task",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
    {
        # Every 5 minutes: e-mail owners/admins about refused keys, bans, dead
        # events and a high backlog (at most once per condition per hour).
        "name": "alerts-check",
        "func": "integration.tasks.alerts_check_task",
        "schedule_type": Schedule.MINUTES,
        "minutes": 5,
    },
    {
        "name": "purge-old-logs",
        "func": "integration.tasks.logs_purge_task",
        "schedule_type": Schedule.HOURLY,
    },
    {
        # Daily: personal data past its retention (deploy/README.md).
        "name": "personal-data-purge",
        "func": "integration.tasks.personal_data_purge_task",
        "schedule_type": Schedule.DAILY,
    },
]
