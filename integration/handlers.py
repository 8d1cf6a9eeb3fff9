"""Which service handles which inbound event (registered at start-up)."""

from integration.models import EventSource
from integration.services.inbox import register_handler


def register_all() -> None:
    # Order watch: the history poll and the RetailCRM trigger, one handler.
    register_handler(EventSource.RETAILCRM_HISTORY, "order_changed",
                     "integration.services.order_events.order_event_handle")
    register_handler(EventSource.RETAILCRM_TRIGGER, "order_changed",
                     "integration.services.order_events.order_event_handle")
    register_handler(EventSource.HDE_WEBHOOK, "new_ticket",
                     "integration.services.tickets.ticket_event_handle")
    register_handler(EventSource.HDE_WEBHOOK, "new_reply",
                     "integration.services.tickets.ticket_event_handle")
    register_handler(EventSource.HDE_WEBHOOK, "ticket_changed",
                     "integration.services.tickets.ticket_changed_handle")
