"""django-q2 entry points: ids in, call a service, nothing else."""


def logs_purge_task() -> int:
    from integration.services.retention import logs_purge

    return logs_purge()


def inbound_event_process_task(event_id: int) -> str | None:
    from integration.services.inbox import inbound_event_process

    return inbound_event_process(event_id=event_id)


def inbound_events_sweep_task() -> int:
    from integration.services.inbox import inbound_events_sweep

    return inbound_events_sweep()
