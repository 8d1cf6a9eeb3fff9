"""django-q2 entry points: ids in, call a service, nothing else."""


def logs_purge_task() -> int:
    from integration.services.retention import logs_purge

    return logs_purge()
