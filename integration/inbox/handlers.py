"""Which service handles which inbound event (registered at start-up)."""

from integration.inbox.events import register_handler
from integration.models import EventSource


def register_all() -> None:
    # Order watch: the history poll and the RetailCRM trigger, one handler.
    register_handler(EventSource.RETAILCRM_HISTORY, "order_changed",
                     "integration.orders.changes.order_event_handle")
    register_handler(EventSource.RETAILCRM_TRIGGER, "order_changed",
                     "integration.orders.changes.order_event_handle")
    register_handler(EventSource.HDE_WEBHOOK, "new_ticket",
                     "integration.tickets.job.ticket_event_handle")
    register_handler(EventSource.HDE_WEBHOOK, "new_reply",
                     "integration.tickets.job.ticket_event_handle")
    register_handler(EventSource.HDE_WEBHOOK, "ticket_changed",
                     "integration.tickets.job.ticket_changed_handle")
